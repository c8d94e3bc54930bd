namespace FeedbackHub.Domain.Language;

/// <summary>
/// A deliberately light suffix stripper applied to both patterns and text, so "married", "marries" and "marrying"
/// all meet "marry". It only has to be consistent, not linguistically exact.
/// </summary>
internal static class Stemmer
{
    public const int MaxLength = 48;

    /// <summary>Writes the stem of <paramref name="word"/> into <paramref name="buffer"/>; returns its length, or -1 if too long.</summary>
    public static int Stem(ReadOnlySpan<char> word, Span<char> buffer)
    {
        if (word.Length > MaxLength)
        {
            return -1;
        }

        word.CopyTo(buffer);
        var n = word.Length;
        if (n > 4 && (word.EndsWith("ies") || word.EndsWith("ied")))
        {
            n -= 3;
            buffer[n++] = 'y';
        }
        else if (n >= 6 && word.EndsWith("ing"))
        {
            n = Undouble(buffer, n - 3);
        }
        else if (n >= 5 && word.EndsWith("ed"))
        {
            n = Undouble(buffer, n - 2);
        }
        else if (n >= 4 && word[^1] == 's' && word[^2] is not ('s' or 'u' or 'i'))
        {
            n--;
        }

        if (n > 3 && buffer[n - 1] == 'e')
        {
            n--;
        }

        return n;
    }

    public static string Stem(string word)
    {
        Span<char> buffer = stackalloc char[MaxLength];
        var n = Stem(word, buffer);
        return n < 0 ? word : new string(buffer[..n]);
    }

    private static int Undouble(Span<char> buffer, int n)
    {
        if (n >= 3 && buffer[n - 1] == buffer[n - 2] && buffer[n - 1] is not ('l' or 's' or 'z') && char.IsLetter(buffer[n - 1]))
        {
            n--;
        }

        return n;
    }
}
