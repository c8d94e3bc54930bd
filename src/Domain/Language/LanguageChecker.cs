using System.Buffers;
using System.Collections.Frozen;

namespace FeedbackHub.Domain.Language;

/// <summary>
/// A compiled, immutable checker for one <see cref="RuleSet"/>. Build it once (<see cref="Create"/>), cache it and
/// call <see cref="Check"/> from any number of threads.
/// </summary>
/// <remarks>
/// One pass over the text: normalise, tokenise, give every word an id (exact stem, else a bounded-edit-distance
/// lookup in a deletion index for words of 6+ letters), then walk a trie of word-id sequences from every word
/// (depth bounded by the longest pattern), and check each match's context in a bounded window of neighbouring
/// words. The cost is linear in the text length and does not grow with the number of rules.
/// </remarks>
public sealed class LanguageChecker : ITextChecker
{
    private const int NumberEdge = -2;
    private const int AnyEdge = -3;
    private const int MinFuzzyLength = 6;
    private const int MinFuzzyVocabularyLength = 5;
    private const int ChunkTarget = 8 * 1024;
    private const int MaxChunk = 16 * 1024;

    private readonly CompiledRule[] _rules;
    private readonly int _enabledRules;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabulary;
    private readonly FuzzyIndex _fuzzy;
    private readonly FrozenDictionary<long, int> _edges;
    private readonly int[] _numberEdges;
    private readonly int[] _anyEdges;
    private readonly PatternEnd[][] _ends;
    private readonly int _maxDepth;

    private LanguageChecker(RuleSet rules)
    {
        RuleSet = rules;
        var vocabulary = new Dictionary<string, int>();
        var patternWords = new HashSet<string>(StringComparer.Ordinal);
        var builder = new TrieBuilder();
        // Rules a tenant disabled are compiled too (after the enabled ones): their matches are never reported, but the
        // semantic stage must know where they matched so that it does not report the same wording again.
        var all = rules.Rules.Concat(rules.DisabledRules).ToList();
        _enabledRules = rules.Rules.Count;
        _rules = new CompiledRule[all.Count];
        for (var r = 0; r < all.Count; r++)
        {
            var rule = all[r];
            foreach (var pattern in rule.Patterns)
            {
                foreach (var words in PatternCompiler.Expand(pattern))
                {
                    builder.Add(words, r, vocabulary, patternWords);
                }
            }

            _rules[r] = new CompiledRule(rule, Compile(rule.Unless, vocabulary), Compile(rule.OnlyWhen, vocabulary));
        }

        var allowIndex = 0;
        foreach (var phrase in rules.AllowedPhrases)
        {
            foreach (var words in PatternCompiler.Expand(phrase))
            {
                builder.Add(words, -1 - allowIndex, vocabulary, patternWords: null);
            }

            allowIndex++;
        }

        // Known real words are never "corrected" into a rule word.
        foreach (var word in rules.Catalog.NotMisspellings)
        {
            foreach (var stem in PatternCompiler.Expand(word).SelectMany(w => w))
            {
                Intern(stem, vocabulary);
            }
        }

        _fuzzy = new FuzzyIndex(patternWords.Where(w => w.Length >= MinFuzzyVocabularyLength).Select(w => (w, vocabulary[w])));
        _vocabulary = vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();
        (_edges, _numberEdges, _anyEdges, _ends, _maxDepth) = builder.Build();
    }

    /// <summary>The rule set this checker was compiled from.</summary>
    public RuleSet RuleSet { get; }

    /// <inheritdoc/>
    public LanguageEngine Engine => LanguageEngine.Rules;

    /// <summary>Compiles a checker for a rule set.</summary>
    public static LanguageChecker Create(RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        return new LanguageChecker(rules);
    }

    /// <summary>Finds risky wording. Findings are ordered by position; offsets point into <paramref name="text"/>.</summary>
    public IReadOnlyList<Finding> Check(string text) => Check(text, int.MaxValue, out _);

    /// <summary>
    /// The first <paramref name="maxFindings"/> findings; <paramref name="truncated"/> tells that there are more. The
    /// check stops once the limit is passed, so a hostile text costs no more than the findings it may show.
    /// </summary>
    public IReadOnlyList<Finding> Check(string text, int maxFindings, out bool truncated) =>
        Check(text, maxFindings, out truncated, suppressions: null);

    /// <summary>As <see cref="Check(string, int, out bool)"/>; also collects, when asked, where allowed phrases and
    /// disabled rules matched (the semantic stage gives way to both).</summary>
    internal IReadOnlyList<Finding> Check(string text, int maxFindings, out bool truncated, RuleSuppressions? suppressions)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(maxFindings);
        truncated = false;
        if (text.Length == 0)
        {
            return [];
        }

        // Long text is processed in chunks cut at sentence ends, so the working buffers stay small and in cache.
        // Nothing (patterns, context) crosses a sentence, so chunking does not change the findings.
        var size = TextNormalizer.MaxOutputLength(Math.Min(text.Length, MaxChunk));
        var normalized = ArrayPool<char>.Shared.Rent(size);
        var map = ArrayPool<int>.Shared.Rent(size);
        var tokens = ArrayPool<Token>.Shared.Rent((size / 2) + 1);
        var allowed = ArrayPool<bool>.Shared.Rent((size / 2) + 1);
        try
        {
            var findings = new List<Finding>();
            var matches = new List<RawMatch>();
            for (var start = 0; start < text.Length;)
            {
                var end = ChunkEnd(text, start);
                var length = TextNormalizer.Normalize(text.AsSpan(start, end - start), normalized, map);
                var count = TextNormalizer.Tokenize(normalized.AsSpan(0, length), tokens);
                AssignIds(normalized, tokens.AsSpan(0, count));
                matches.Clear();
                for (var i = 0; i < count; i++)
                {
                    if (tokens[i].Id >= 0 || tokens[i].IsNumber)
                    {
                        Walk(0, tokens, count, i, i, matches);
                    }
                }

                if (matches.Count > 0)
                {
                    AddFindings(text, start, map, tokens, count, matches, allowed, findings, suppressions);
                }

                start = end;
                if (findings.Count > maxFindings)
                {
                    truncated = true;
                    findings.RemoveRange(maxFindings, findings.Count - maxFindings);
                    break;
                }
            }

            return findings;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(normalized);
            ArrayPool<int>.Shared.Return(map);
            ArrayPool<Token>.Shared.Return(tokens);
            ArrayPool<bool>.Shared.Return(allowed);
        }
    }

    /// <summary>End of the chunk starting at <paramref name="start"/>: the first sentence end after
    /// <see cref="ChunkTarget"/> characters, else the last whitespace before <see cref="MaxChunk"/>.</summary>
    internal static int ChunkEnd(string text, int start)
    {
        if (text.Length - start <= MaxChunk)
        {
            return text.Length;
        }

        var limit = start + MaxChunk;
        for (var i = start + ChunkTarget; i < limit - 1; i++)
        {
            if (text[i] == '\n' || (text[i] is '.' or '!' or '?' && char.IsWhiteSpace(text[i + 1])))
            {
                return i + 1;
            }
        }

        // A sentence longer than the chunk: cut at whitespace (a phrase spanning the cut could be missed).
        for (var i = limit - 1; i > start + (ChunkTarget / 2); i--)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                return i + 1;
            }
        }

        return char.IsHighSurrogate(text[limit - 1]) ? limit - 1 : limit;
    }

    private void AssignIds(char[] normalized, Span<Token> tokens)
    {
        Span<char> stem = stackalloc char[Stemmer.MaxLength];
        for (var t = 0; t < tokens.Length; t++)
        {
            ref var token = ref tokens[t];
            var word = normalized.AsSpan(token.Start, token.End - token.Start);
            var n = Stemmer.Stem(word, stem);
            if (n <= 0)
            {
                continue;
            }

            if (_vocabulary.TryGetValue(stem[..n], out var id))
            {
                token.Id = id;
            }
            else if (word.Length >= MinFuzzyLength && !token.IsNumber)
            {
                token.Id = _fuzzy.Find(stem[..n]);
            }
        }
    }

    private void AddFindings(
        string text, int offset, int[] map, Token[] tokens, int count, List<RawMatch> matches, bool[] allowed, List<Finding> findings, RuleSuppressions? suppressions)
    {
        Array.Clear(allowed, 0, count);
        foreach (var m in matches)
        {
            if (m.Target < 0)
            {
                allowed.AsSpan(m.Start, m.End - m.Start).Fill(true);
                if (suppressions is not null)
                {
                    var start = offset + map[tokens[m.Start].Start];
                    suppressions.AllowedSpans.Add((start, offset + map[tokens[m.End - 1].End - 1] + 1 - start));
                }
            }
        }

        var chunk = new List<Finding>();
        foreach (var m in matches)
        {
            if (m.Target < 0 || allowed.AsSpan(m.Start, m.End - m.Start).Contains(true) || !InContext(_rules[m.Target], tokens, count, m.Start, m.End))
            {
                continue;
            }

            var rule = _rules[m.Target].Rule;
            var start = offset + map[tokens[m.Start].Start];
            var end = offset + map[tokens[m.End - 1].End - 1] + 1;
            var finding = new Finding(rule.Id, rule.Category, rule.Severity, start, end - start, text[start..end], rule.Reason, rule.Suggestion);
            if (m.Target < _enabledRules)
            {
                chunk.Add(finding);
            }
            else
            {
                suppressions?.DisabledRuleHits.Add(finding);
            }
        }

        findings.AddRange(Deduplicate(chunk));
    }

    private void Walk(int node, Token[] tokens, int count, int start, int position, List<RawMatch> matches)
    {
        foreach (var end in _ends[node])
        {
            matches.Add(new RawMatch(end.Target, start, position));
        }

        if (position >= count || position - start >= _maxDepth || tokens[position].Sentence != tokens[start].Sentence)
        {
            return;
        }

        var token = tokens[position];
        if (token.Id >= 0 && _edges.TryGetValue(((long)node << 32) | (uint)token.Id, out var next))
        {
            Walk(next, tokens, count, start, position + 1, matches);
        }

        if (token.IsNumber && _numberEdges[node] > 0)
        {
            Walk(_numberEdges[node], tokens, count, start, position + 1, matches);
        }

        if (_anyEdges[node] > 0 && position > start)
        {
            Walk(_anyEdges[node], tokens, count, start, position + 1, matches);
        }
    }

    private static bool InContext(CompiledRule rule, Token[] tokens, int count, int start, int end)
    {
        if (rule.Unless is { } unless && Occurs(unless, tokens, count, start, end))
        {
            return false;
        }

        return rule.OnlyWhen is not { } onlyWhen || Occurs(onlyWhen, tokens, count, start, end);
    }

    private static bool Occurs(CompiledContext context, Token[] tokens, int count, int start, int end)
    {
        var sentence = tokens[start].Sentence;
        foreach (var phrase in context.Before)
        {
            for (var phraseEnd = start; phraseEnd >= start - context.Window + 1 && phraseEnd - phrase.Length >= 0; phraseEnd--)
            {
                if (PhraseAt(phrase, tokens, phraseEnd - phrase.Length, sentence))
                {
                    return true;
                }
            }
        }

        foreach (var phrase in context.After)
        {
            for (var phraseStart = end; phraseStart <= end + context.Window - 1 && phraseStart + phrase.Length <= count; phraseStart++)
            {
                if (PhraseAt(phrase, tokens, phraseStart, sentence))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool PhraseAt(int[] phrase, Token[] tokens, int at, int sentence)
    {
        for (var k = 0; k < phrase.Length; k++)
        {
            var token = tokens[at + k];
            if (token.Sentence != sentence)
            {
                return false;
            }

            var word = phrase[k];
            if (word != token.Id && word != AnyEdge && !(word == NumberEdge && token.IsNumber))
            {
                return false;
            }
        }

        return true;
    }

    private static List<Finding> Deduplicate(List<Finding> findings)
    {
        // Deterministic order: by position, longest first, then rule id; drop a finding inside another of the same category.
        findings.Sort(static (a, b) =>
            a.Start != b.Start ? a.Start.CompareTo(b.Start)
            : a.Length != b.Length ? b.Length.CompareTo(a.Length)
            : string.CompareOrdinal(a.RuleId, b.RuleId));
        var kept = new List<Finding>(findings.Count);
        var reach = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var finding in findings)
        {
            var end = finding.Start + finding.Length;
            if (reach.TryGetValue(finding.Category, out var furthest) && furthest >= end)
            {
                continue;
            }

            reach[finding.Category] = Math.Max(furthest, end);
            kept.Add(finding);
        }

        return kept;
    }

    private static CompiledContext? Compile(RuleContext? context, Dictionary<string, int> vocabulary)
    {
        if (context is null)
        {
            return null;
        }

        int[][] Phrases(IEnumerable<string> phrases) =>
        [
            .. phrases.SelectMany(PatternCompiler.Expand)
                .Select(words => words.Select(w => w switch
                {
                    PatternCompiler.AnyWord => AnyEdge,
                    PatternCompiler.AnyNumber => NumberEdge,
                    _ => Intern(w, vocabulary),
                }).ToArray()),
        ];

        var near = Phrases(context.Near);
        return new CompiledContext([.. Phrases(context.Before), .. near], [.. Phrases(context.After), .. near], Math.Max(1, context.Window));
    }

    private static int Intern(string word, Dictionary<string, int> vocabulary)
    {
        if (!vocabulary.TryGetValue(word, out var id))
        {
            id = vocabulary.Count;
            vocabulary.Add(word, id);
        }

        return id;
    }

    private readonly record struct RawMatch(int Target, int Start, int End);

    private readonly record struct PatternEnd(int Target);

    private sealed record CompiledRule(LanguageRule Rule, CompiledContext? Unless, CompiledContext? OnlyWhen);

    private sealed record CompiledContext(int[][] Before, int[][] After, int Window);

    private sealed class TrieBuilder
    {
        private readonly Dictionary<long, int> _edges = [];
        private readonly List<int> _numberEdges = [0];
        private readonly List<int> _anyEdges = [0];
        private readonly List<List<PatternEnd>> _ends = [[]];
        private int _maxDepth;

        public void Add(string[] words, int target, Dictionary<string, int> vocabulary, HashSet<string>? patternWords)
        {
            var node = 0;
            foreach (var word in words)
            {
                if (word == PatternCompiler.AnyWord)
                {
                    node = Child(_anyEdges, node);
                }
                else if (word == PatternCompiler.AnyNumber)
                {
                    node = Child(_numberEdges, node);
                }
                else
                {
                    patternWords?.Add(word);
                    var key = ((long)node << 32) | (uint)Intern(word, vocabulary);
                    if (!_edges.TryGetValue(key, out var next))
                    {
                        next = NewNode();
                        _edges.Add(key, next);
                    }

                    node = next;
                }
            }

            if (!_ends[node].Contains(new PatternEnd(target)))
            {
                _ends[node].Add(new PatternEnd(target));
            }

            _maxDepth = Math.Max(_maxDepth, words.Length);
        }

        public (FrozenDictionary<long, int>, int[], int[], PatternEnd[][], int) Build() =>
            (_edges.ToFrozenDictionary(), [.. _numberEdges], [.. _anyEdges], [.. _ends.Select(e => e.ToArray())], _maxDepth);

        private int Child(List<int> edges, int node)
        {
            if (edges[node] == 0)
            {
                edges[node] = NewNode();
            }

            return edges[node];
        }

        private int NewNode()
        {
            _numberEdges.Add(0);
            _anyEdges.Add(0);
            _ends.Add([]);
            return _ends.Count - 1;
        }
    }
}

/// <summary>What the rules say the semantic stage must give way to: spans of allowed phrases and matches of disabled rules.</summary>
internal sealed class RuleSuppressions
{
    public List<(int Start, int Length)> AllowedSpans { get; } = [];

    public List<Finding> DisabledRuleHits { get; } = [];
}
