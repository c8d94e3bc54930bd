namespace FeedbackHub.Domain.Model;

/// <summary>Whether a stored string may span lines.</summary>
public enum TextKind
{
    /// <summary>Names, titles, keys, addresses: no line breaks, tabs or other control characters.</summary>
    SingleLine,

    /// <summary>Free text a person writes (comments, notes, template paragraphs): line breaks and tabs allowed.</summary>
    MultiLine,
}

/// <summary>
/// Marks a request property that holds free text (<see cref="TextKind.MultiLine"/>); every other string the API
/// accepts is <see cref="TextKind.SingleLine"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class FreeTextAttribute : Attribute;

/// <summary>
/// The one rule for the characters a stored string may contain, used by the API for every string it accepts and by
/// the entities for their own fields. Refused everywhere: control characters (NUL breaks PostgreSQL, CR/LF breaks
/// headers), unpaired surrogates, noncharacters, and the invisible formatting characters that can disguise text
/// (bidirectional embeddings, overrides and isolates, which show "TXT.EXE" as "EXE.TXT"; zero-width spaces, word
/// joiners, the byte-order mark, tag characters). Kept: ZWJ/ZWNJ and the bidi marks (LRM, RLM, ALM) that scripts and
/// emoji need.
/// </summary>
public static class TextInput
{
    /// <summary>Null when <paramref name="text"/> may be stored; otherwise why not, as a sentence safe to show.</summary>
    public static string? Problem(string text, TextKind kind)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < ' ' || c is >= '\u007F' and <= '\u009F')
            {
                if (kind == TextKind.MultiLine && c is '\n' or '\r' or '\t')
                    continue;
                return c is '\n' or '\r'
                    ? "Must be a single line (no line breaks)."
                    : $"Must not contain control characters (found U+{(int)c:X4}).";
            }

            if (char.IsSurrogate(c))
            {
                if (!char.IsHighSurrogate(c) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                    return "Contains an invalid character (an unpaired UTF-16 surrogate).";
                var scalar = char.ConvertToUtf32(c, text[i + 1]);
                if (scalar is >= 0xE0000 and <= 0xE007F || (scalar & 0xFFFE) == 0xFFFE)
                    return $"Must not contain invisible characters (found U+{scalar:X}).";
                i++;
                continue;
            }

            if (kind == TextKind.SingleLine && c is '\u2028' or '\u2029')
                return "Must be a single line (no line breaks).";
            if (IsDisguising(c))
                return $"Must not contain invisible formatting characters (found U+{(int)c:X4}); they can make text read differently from what is stored.";
        }

        return null;
    }

    public static bool IsValid(string? text, TextKind kind) => text is null || Problem(text, kind) is null;

    private static bool IsDisguising(char c) =>
        c is >= '\u202A' and <= '\u202E'    // LRE, RLE, PDF, LRO, RLO
            or >= '\u2066' and <= '\u2069'  // LRI, RLI, FSI, PDI
            or '\u200B'                     // zero-width space
            or >= '\u2060' and <= '\u2064'  // word joiner, invisible operators
            or '\u180E'                     // Mongolian vowel separator
            or '\uFEFF'                     // byte-order mark / zero-width no-break space
            or '\uFFFE' or '\uFFFF'         // noncharacters
            or >= '\uFFF9' and <= '\uFFFB'; // interlinear annotation controls
}
