using System.Collections.Frozen;

namespace FeedbackHub.Domain.Language;

/// <summary>A sentence of a text: <c>text.Substring(Start, Length) == Text</c> (UTF-16 offsets into the original).</summary>
public readonly record struct Sentence(int Start, int Length, string Text);

/// <summary>
/// Splits feedback text into the units the sentence model reads: sentences ending in <c>.</c>, <c>!</c>, <c>?</c>
/// (not after a known abbreviation, an initial or inside a number), lines (a line break always ends a unit, so
/// fragments without a full stop and bullet items stand alone), with bullet markers and surrounding whitespace left
/// out. A unit longer than <see cref="MaxLength"/> characters is cut at whitespace.
/// </summary>
public static class SentenceSegmenter
{
    /// <summary>Longest unit, in characters (the model reads at most about 256 word pieces anyway).</summary>
    public const int MaxLength = 600;

    private static readonly FrozenSet<string> Abbreviations = new[]
    {
        "e.g", "i.e", "etc", "vs", "cf", "approx", "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "no", "nr",
        "dept", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
        "nov", "dec", "mon", "tue", "wed", "thu", "fri", "u.s", "u.k", "p.s", "a.m", "p.m", "ca", "incl", "esp", "re",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The sentences of <paramref name="text"/>, in order; empty and punctuation-only units are skipped.</summary>
    public static IReadOnlyList<Sentence> Segment(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sentences = new List<Sentence>();
        var lineStart = 0;
        while (lineStart < text.Length)
        {
            var lineEnd = text.IndexOfAny(['\n', '\r', '\u2028', '\u2029'], lineStart);
            if (lineEnd < 0)
            {
                lineEnd = text.Length;
            }

            SegmentLine(text, SkipBullet(text, lineStart, lineEnd), lineEnd, sentences);
            lineStart = lineEnd + 1;
        }

        return sentences;
    }

    /// <summary>
    /// The units the sentence model reads: the sentences of <paramref name="text"/>, where a sentence of fewer than
    /// <paramref name="minWords"/> words ("Lazy.", "Dim. Slow.", "Notes:") is joined to the next one (the last, to the one
    /// before), so a fragment is read with the words that give it its sense ("Lazy. No hire from me."). A text of fewer
    /// words in all stays one short unit.
    /// </summary>
    public static IReadOnlyList<Sentence> ModelUnits(string text, int minWords)
    {
        var sentences = Segment(text);
        if (sentences.Count < 2 || sentences.All(s => Words(s.Text) >= minWords))
        {
            return sentences;
        }

        var units = new List<Sentence>(sentences.Count);
        var start = -1;
        var words = 0;
        foreach (var sentence in sentences)
        {
            start = start < 0 ? sentence.Start : start;
            words += Words(sentence.Text);
            if (words >= minWords)
            {
                units.Add(Span(text, start, sentence.Start + sentence.Length));
                start = -1;
                words = 0;
            }
        }

        if (start >= 0)
        {
            var last = sentences[^1];
            if (units.Count == 0)
            {
                units.Add(Span(text, start, last.Start + last.Length));
            }
            else
            {
                units[^1] = Span(text, units[^1].Start, last.Start + last.Length);
            }
        }

        return units;

        static Sentence Span(string text, int start, int end) => new(start, end - start, text[start..end]);
    }

    /// <summary>Words in a text: runs of letters and digits (an apostrophe or hyphen inside a word does not split it).</summary>
    public static int Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = 0;
        var inWord = false;
        foreach (var c in text)
        {
            var letter = char.IsLetterOrDigit(c);
            words += letter && !inWord ? 1 : 0;
            inWord = letter || (inWord && c is '\'' or '’' or '-');
        }

        return words;
    }

    private static void SegmentLine(string text, int start, int end, List<Sentence> sentences)
    {
        var sentenceStart = start;
        for (var i = start; i < end; i++)
        {
            if (text[i] is not ('.' or '!' or '?' or '…'))
            {
                continue;
            }

            // A run of terminators and closing quotes or brackets belongs to the sentence it ends.
            var stop = i + 1;
            while (stop < end && text[stop] is '.' or '!' or '?' or '…' or '"' or '\'' or ')' or ']' or '”' or '’' or '»')
            {
                stop++;
            }

            if (stop < end && !char.IsWhiteSpace(text[stop]))
            {
                i = stop - 1;
                continue; // 3.5, e.g.x, a.b.c: not a sentence end
            }

            if (text[i] == '.' && stop == i + 1 && IsAbbreviation(text, sentenceStart, i))
            {
                continue;
            }

            Add(text, sentenceStart, stop, sentences);
            sentenceStart = stop;
            i = stop - 1;
        }

        Add(text, sentenceStart, end, sentences);
    }

    private static bool IsAbbreviation(string text, int sentenceStart, int dot)
    {
        var wordStart = dot;
        while (wordStart > sentenceStart && (char.IsLetter(text[wordStart - 1]) || text[wordStart - 1] == '.'))
        {
            wordStart--;
        }

        var word = text.AsSpan(wordStart, dot - wordStart);
        if (word.Length == 1 && char.IsUpper(word[0]))
        {
            return true; // an initial: "J. Smith"
        }

        return word.Length > 0 && Abbreviations.GetAlternateLookup<ReadOnlySpan<char>>().Contains(word);
    }

    /// <summary>Skips leading whitespace and a bullet marker (<c>-</c>, <c>*</c>, <c>•</c>, <c>1.</c>, <c>2)</c>, <c>a)</c>).</summary>
    private static int SkipBullet(string text, int start, int end)
    {
        var i = start;
        while (i < end && char.IsWhiteSpace(text[i]))
        {
            i++;
        }

        if (i < end && text[i] is '-' or '*' or '•' or '·' or '–' or '—' or '‣' or '◦' or '>' && i + 1 < end && char.IsWhiteSpace(text[i + 1]))
        {
            return i + 1;
        }

        var j = i;
        while (j < end && j - i < 3 && char.IsAsciiDigit(text[j]))
        {
            j++;
        }

        if (j == i && j < end && char.IsAsciiLetterLower(text[j]) && j + 1 < end && text[j + 1] == ')')
        {
            j++; // "a) ..."
        }

        return j > i && j + 1 < end && text[j] is '.' or ')' && char.IsWhiteSpace(text[j + 1]) ? j + 1 : i;
    }

    private static void Add(string text, int start, int end, List<Sentence> sentences)
    {
        while (start < end && char.IsWhiteSpace(text[start]))
        {
            start++;
        }

        while (end > start && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
        }

        while (end - start > MaxLength)
        {
            var cut = text.LastIndexOf(' ', start + MaxLength, MaxLength / 2);
            cut = cut > start ? cut : start + MaxLength;
            if (char.IsLowSurrogate(text[cut]))
            {
                cut--;
            }

            AddTrimmed(text, start, cut, sentences);
            start = cut;
            while (start < end && char.IsWhiteSpace(text[start]))
            {
                start++;
            }
        }

        AddTrimmed(text, start, end, sentences);
    }

    private static void AddTrimmed(string text, int start, int end, List<Sentence> sentences)
    {
        while (end > start && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
        }

        var span = text.AsSpan(start, end - start);
        if (span.ContainsAnyExcept(Punctuation) && !span.IsWhiteSpace())
        {
            sentences.Add(new Sentence(start, end - start, text[start..end]));
        }
    }

    private static readonly System.Buffers.SearchValues<char> Punctuation =
        System.Buffers.SearchValues.Create(" \t.,;:!?-–—*•·\"'()[]…”“’‘»«>");
}
