namespace FeedbackHub.Domain.Language;

/// <summary>
/// One rule in force. Patterns use a small syntax: words are matched after normalisation and light stemming
/// (so inflections match), <c>(a|b c|)</c> is an alternation (an empty branch makes it optional), <c>_</c> matches
/// any one word, <c>#</c> any number, and a hyphenated word (<c>over-qualified</c>) also matches the split and the
/// joined spelling.
/// </summary>
/// <param name="Id">Stable id, <c>category.short-name</c> for catalog rules.</param>
/// <param name="Category">One of <see cref="RuleCatalog.Categories"/>.</param>
/// <param name="Severity">Severity in force.</param>
/// <param name="Patterns">Phrases that trigger the rule (including explicit misspelling variants).</param>
/// <param name="Unless">Context in which the rule does not apply (technical or idiomatic sense), or null.</param>
/// <param name="OnlyWhen">Context the rule needs to apply, or null when it always applies.</param>
/// <param name="Reason">One sentence a reviewer understands.</param>
/// <param name="Suggestion">Safer wording.</param>
public sealed record LanguageRule(
    string Id,
    string Category,
    Severity Severity,
    IReadOnlyList<string> Patterns,
    RuleContext? Unless,
    RuleContext? OnlyWhen,
    string Reason,
    string Suggestion);

/// <summary>
/// Phrases looked for in a bounded window of words around a match, within the same sentence.
/// </summary>
/// <param name="Before">Phrases ending at most <paramref name="Window"/> words before the match.</param>
/// <param name="After">Phrases starting at most <paramref name="Window"/> words after the match.</param>
/// <param name="Near">Phrases on either side, within the window.</param>
/// <param name="Window">Window size in words (1 means adjacent).</param>
public sealed record RuleContext(
    IReadOnlyList<string> Before,
    IReadOnlyList<string> After,
    IReadOnlyList<string> Near,
    int Window = 3);
