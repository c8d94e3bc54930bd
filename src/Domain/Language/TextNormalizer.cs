namespace FeedbackHub.Domain.Language;

/// <summary>A word of the normalised text: [Start, End) in the normalised buffer.</summary>
internal struct Token
{
    public int Start;
    public int End;
    public int Id;
    public int Sentence;
    public bool IsNumber;
}

/// <summary>
/// Folds text to the form rules are written in: lower case, no diacritics, one kind of apostrophe, quote and dash,
/// whitespace collapsed (a newline survives as a sentence break), apostrophes inside words removed
/// ("didn't" becomes "didnt"). Every output character remembers the index of the original character it came from,
/// so findings point into the original text.
/// </summary>
internal static class TextNormalizer
{
    // U+00C0..U+00FF and U+0100..U+017F folded to a base letter; '?' marks a two-letter expansion.
    private const string Latin1 = "aaaaaa?ceeeeiiiidnooooo ouuuuy??aaaaaa?ceeeeiiiidnooooo ouuuuy?y";
    private const string LatinExtendedA =
        "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkkllllllllllnnnnnnnnnoooooo??rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

    /// <summary>Worst-case output length for an input of <paramref name="length"/> characters.</summary>
    public static int MaxOutputLength(int length) => (length * 2) + 1;

    /// <summary>Normalises <paramref name="text"/> into <paramref name="output"/>; returns the output length.</summary>
    public static int Normalize(ReadOnlySpan<char> text, Span<char> output, Span<int> map)
    {
        var n = 0;
        var pendingSpace = false;
        var pendingNewline = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = n > 0;
                pendingNewline |= c == '\n' && n > 0;
                continue;
            }

            if (c is >= '\u0300' and <= '\u036F')
            {
                continue; // combining diacritical mark
            }

            if (pendingSpace)
            {
                output[n] = pendingNewline ? '\n' : ' ';
                map[n++] = i - 1;
                pendingSpace = false;
                pendingNewline = false;
            }

            var folded = Fold(c, out var second);
            if (folded == '\'' && n > 0 && char.IsLetter(output[n - 1]) && i + 1 < text.Length && char.IsLetter(text[i + 1]))
            {
                continue; // didn't -> didnt, O'Brien -> obrien
            }

            output[n] = folded;
            map[n++] = i;
            if (second != '\0')
            {
                output[n] = second;
                map[n++] = i;
            }
        }

        return n;
    }

    /// <summary>Splits normalised text into words; sentence numbers change at . ! ? ; and line breaks.</summary>
    public static int Tokenize(ReadOnlySpan<char> normalized, Span<Token> tokens)
    {
        var count = 0;
        var sentence = 0;
        for (var j = 0; j < normalized.Length; j++)
        {
            var c = normalized[j];
            if (char.IsLetterOrDigit(c))
            {
                var start = j;
                while (j + 1 < normalized.Length && char.IsLetterOrDigit(normalized[j + 1]))
                {
                    j++;
                }

                tokens[count++] = new Token { Start = start, End = j + 1, Sentence = sentence, IsNumber = char.IsAsciiDigit(c), Id = -1 };
            }
            else if (c == '\n')
            {
                sentence++;
            }
            else if (c is '.' or '!' or '?' or ';'
                && (j + 1 == normalized.Length || normalized[j + 1] is ' ' or '\n' or '"' or ')' or '\''))
            {
                sentence++;
            }
        }

        return count;
    }

    /// <summary>Normalises a whole string (used when compiling patterns).</summary>
    public static string NormalizeString(string text)
    {
        var output = new char[MaxOutputLength(text.Length)];
        var map = new int[output.Length];
        var n = Normalize(text, output, map);
        return new string(output, 0, n);
    }

    private static char Fold(char c, out char second)
    {
        second = '\0';
        if (c < 128)
        {
            return c is >= 'A' and <= 'Z' ? (char)(c + 32) : c == '`' ? '\'' : c;
        }

        if (c is >= '\u00C0' and <= '\u017F')
        {
            var f = c < '\u0100' ? Latin1[c - '\u00C0'] : LatinExtendedA[c - '\u0100'];
            if (f != '?')
            {
                return f;
            }

            (var a, second) = c switch
            {
                '\u00C6' or '\u00E6' => ('a', 'e'),
                '\u00DE' or '\u00FE' => ('t', 'h'),
                '\u00DF' => ('s', 's'),
                _ => ('o', 'e'), // U+0152 / U+0153
            };
            return a;
        }

        return c switch
        {
            '\u2018' or '\u2019' or '\u201A' or '\u201B' or '\u2032' or '\u02BC' or '\u00B4' => '\'',
            '\u201C' or '\u201D' or '\u201E' or '\u201F' or '\u00AB' or '\u00BB' or '\u2033' => '"',
            >= '\u2010' and <= '\u2015' or '\u2212' => '-',
            '\u00A0' => ' ',
            _ => char.ToLowerInvariant(c),
        };
    }
}
