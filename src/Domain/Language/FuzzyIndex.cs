namespace FeedbackHub.Domain.Language;

/// <summary>
/// Symmetric-delete index (edit distance 1, adjacent transposition counted as one edit) over the stems of rule
/// words. A lookup costs one hash probe per letter of the query and allocates nothing.
/// </summary>
internal sealed class FuzzyIndex
{
    private readonly string[] _words;
    private readonly int[] _ids;
    private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _deletes;

    public FuzzyIndex(IEnumerable<(string Word, int Id)> vocabulary)
    {
        var entries = vocabulary.ToArray();
        _words = [.. entries.Select(e => e.Word)];
        _ids = [.. entries.Select(e => e.Id)];
        var deletes = new Dictionary<string, List<int>>();
        for (var i = 0; i < _words.Length; i++)
        {
            var word = _words[i];
            Add(deletes, word, i);
            for (var d = 0; d < word.Length; d++)
            {
                Add(deletes, string.Concat(word.AsSpan(0, d), word.AsSpan(d + 1)), i);
            }
        }

        _deletes = deletes.ToDictionary(p => p.Key, p => p.Value.Distinct().ToArray())
            .GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The vocabulary id of a rule word within one edit of <paramref name="query"/>, or -1.</summary>
    public int Find(ReadOnlySpan<char> query)
    {
        if (_deletes.TryGetValue(query, out var candidates) && Best(query, candidates) is var hit and >= 0)
        {
            return hit;
        }

        Span<char> buffer = stackalloc char[query.Length];
        for (var d = 0; d < query.Length; d++)
        {
            query[..d].CopyTo(buffer);
            query[(d + 1)..].CopyTo(buffer[d..]);
            if (_deletes.TryGetValue(buffer[..(query.Length - 1)], out candidates) && Best(query, candidates) is var found and >= 0)
            {
                return found;
            }
        }

        return -1;
    }

    private int Best(ReadOnlySpan<char> query, int[] candidates)
    {
        foreach (var candidate in candidates)
        {
            var word = _words[candidate];
            if (word[0] == query[0] && WithinOneEdit(query, word))
            {
                return _ids[candidate];
            }
        }

        return -1;
    }

    internal static bool WithinOneEdit(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        if (a.Length < b.Length)
        {
            var shorter = a;
            a = b;
            b = shorter;
        }

        var i = a.CommonPrefixLength(b);
        if (a.Length == b.Length)
        {
            if (i == a.Length)
            {
                return true;
            }

            if (a[(i + 1)..].SequenceEqual(b[(i + 1)..]))
            {
                return true; // substitution
            }

            return i + 1 < a.Length && a[i] == b[i + 1] && a[i + 1] == b[i] && a[(i + 2)..].SequenceEqual(b[(i + 2)..]);
        }

        return a.Length == b.Length + 1 && a[(i + 1)..].SequenceEqual(b[i..]);
    }

    private static void Add(Dictionary<string, List<int>> deletes, string key, int index)
    {
        if (!deletes.TryGetValue(key, out var list))
        {
            deletes[key] = list = [];
        }

        list.Add(index);
    }
}
