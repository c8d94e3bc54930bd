namespace FeedbackHub.Language.Semantic;

/// <summary>
/// The words and word pairs of a sentence, as the semantic model's lexical features read them: lower case, prepared as
/// for the embedding (<see cref="SentenceEmbedder.Prepare"/>), apostrophes dropped, numbers as <c>#</c>. The model keeps a vocabulary of the ones seen in training; each
/// sentence's features are 1/sqrt(n) for the n vocabulary entries it contains (unit length, like the embedding).
/// </summary>
public static class LexicalFeatures
{
    /// <summary>Unigrams and bigrams (<c>"too old"</c>) of a sentence, distinct, in order of first occurrence.</summary>
    public static IReadOnlyList<string> Terms(string sentence)
    {
        ArgumentNullException.ThrowIfNull(sentence);
        var words = new List<string>();
        var folded = SentenceEmbedder.Prepare(sentence).ToLowerInvariant();
        var current = new System.Text.StringBuilder();
        void Flush()
        {
            if (current.Length > 0)
            {
                var word = current.ToString();
                words.Add(word.All(char.IsDigit) ? "#" : word);
                current.Clear();
            }
        }

        foreach (var c in folded)
        {
            if (char.IsLetterOrDigit(c))
            {
                current.Append(c);
            }
            else if (c is not ('\'' or '’'))
            {
                Flush();
            }
        }

        Flush();
        var terms = new List<string>(words.Count * 2);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < words.Count; i++)
        {
            if (seen.Add(words[i]))
            {
                terms.Add(words[i]);
            }

            if (i + 1 < words.Count && seen.Add(words[i] + " " + words[i + 1]))
            {
                terms.Add(words[i] + " " + words[i + 1]);
            }
        }

        return terms;
    }

    /// <summary>The vocabulary indexes of a sentence's terms (distinct): its non-zero features, each 1/sqrt(count).</summary>
    public static List<int> Hits(string sentence, IReadOnlyDictionary<string, int> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var hits = new List<int>();
        foreach (var term in Terms(sentence))
        {
            if (vocabulary.TryGetValue(term, out var index))
            {
                hits.Add(index);
            }
        }

        return hits;
    }

    /// <summary>The value of each of <paramref name="hits"/> features (unit length over the hits).</summary>
    public static float Value(int hits) => hits == 0 ? 0 : 1 / MathF.Sqrt(hits);

    /// <summary>Writes the features of a sentence for a vocabulary (term → index) into <paramref name="into"/> (cleared first).</summary>
    public static void Fill(string sentence, IReadOnlyDictionary<string, int> vocabulary, Span<float> into)
    {
        into.Clear();
        var hits = Hits(sentence, vocabulary);
        var value = Value(hits.Count);
        foreach (var index in hits)
        {
            into[index] = value;
        }
    }
}
