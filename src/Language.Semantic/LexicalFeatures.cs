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
    public static List<int> Hits(string sentence, IReadOnlyDictionary<string, int> vocabulary) => Hits(Terms(sentence), vocabulary);

    /// <summary>As <see cref="Hits(string, IReadOnlyDictionary{string, int})"/> for a sentence's <see cref="Terms"/>.</summary>
    public static List<int> Hits(IReadOnlyList<string> terms, IReadOnlyDictionary<string, int> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentNullException.ThrowIfNull(vocabulary);
        var hits = new List<int>();
        foreach (var term in terms)
        {
            if (vocabulary.TryGetValue(term, out var index))
            {
                hits.Add(index);
            }
        }

        return hits;
    }

    /// <summary>
    /// The hashed character n-grams of a sentence's words (<paramref name="buckets"/> > 0): the words as <see cref="Terms"/>
    /// reads them (leetspeak folded, lower case, numbers left out), each framed as <c>&lt;word&gt;</c>, cut into 3- to
    /// 5-character grams, hashed (FNV-1a, the same on every machine) into <paramref name="buckets"/> indexes; distinct, in
    /// order of first occurrence. They let a misspelt or slang word ("pregnent", "relijus") share weights with its spelling.
    /// </summary>
    public static List<int> CharNgrams(string sentence, int buckets) => buckets <= 0 ? [] : CharNgrams(Terms(sentence), buckets);

    /// <summary>As <see cref="CharNgrams(string, int)"/> for a sentence's <see cref="Terms"/>.</summary>
    public static List<int> CharNgrams(IReadOnlyList<string> terms, int buckets)
    {
        ArgumentNullException.ThrowIfNull(terms);
        var hits = new List<int>();
        if (buckets <= 0)
        {
            return hits;
        }

        var seen = new HashSet<int>();
        Span<char> framed = stackalloc char[66];
        foreach (var term in terms)
        {
            if (term.Contains(' ', StringComparison.Ordinal) || term == "#" || term.Length > 64)
            {
                continue;
            }

            framed[0] = '<';
            term.AsSpan().CopyTo(framed[1..]);
            framed[term.Length + 1] = '>';
            var word = framed[..(term.Length + 2)];
            for (var n = 3; n <= 5; n++)
            {
                for (var start = 0; start + n <= word.Length; start++)
                {
                    var hash = 2166136261u;
                    foreach (var c in word.Slice(start, n))
                    {
                        hash = (hash ^ c) * 16777619u;
                    }

                    var index = (int)(hash % (uint)buckets);
                    if (seen.Add(index))
                    {
                        hits.Add(index);
                    }
                }
            }
        }

        return hits;
    }

    /// <summary>The value of each of <paramref name="hits"/> features (unit length over the hits).</summary>
    public static float Value(int hits) => hits == 0 ? 0 : 1 / MathF.Sqrt(hits);

    /// <summary>Writes the features of a sentence for a vocabulary (term → index) into <paramref name="into"/> (cleared first).</summary>
    public static void Fill(string sentence, IReadOnlyDictionary<string, int> vocabulary, Span<float> into) =>
        Fill(sentence, vocabulary, 0, into);

    /// <summary>Writes the features of a sentence into <paramref name="into"/> (cleared first): the vocabulary's terms at
    /// their indexes, then, after them, the <paramref name="buckets"/> hashed character n-grams (<see cref="CharNgrams"/>);
    /// each group has unit length on its own.</summary>
    public static void Fill(string sentence, IReadOnlyDictionary<string, int> vocabulary, int buckets, Span<float> into)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        into.Clear();
        var hits = Hits(sentence, vocabulary);
        var value = Value(hits.Count);
        foreach (var index in hits)
        {
            into[index] = value;
        }

        var grams = CharNgrams(sentence, buckets);
        var gramValue = Value(grams.Count);
        foreach (var index in grams)
        {
            into[vocabulary.Count + index] = gramValue;
        }
    }
}
