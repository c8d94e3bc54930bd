using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace FeedbackHub.Language.Semantic;

/// <summary>
/// A thread-safe map of at most <c>capacity</c> entries, first in, first out when full. The sentence caches key it by
/// <see cref="SentenceKey.HashOf"/>, never by the text: a checked sentence (a remark about a candidate) is not kept in memory.
/// </summary>
internal sealed class BoundedCache<TKey, TValue>(int capacity)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> _entries = new();
    private readonly ConcurrentQueue<TKey> _order = new();

    public int Count => _entries.Count;

    public bool TryGet(TKey key, out TValue value) => _entries.TryGetValue(key, out value!);

    public void Add(TKey key, TValue value)
    {
        if (capacity <= 0 || !_entries.TryAdd(key, value))
        {
            return;
        }

        _order.Enqueue(key);
        while (_entries.Count > capacity && _order.TryDequeue(out var oldest))
        {
            _entries.TryRemove(oldest, out _);
        }
    }

    public void Clear()
    {
        _entries.Clear();
        _order.Clear();
    }
}

/// <summary>The key of a sentence in the caches: 128 bits of its SHA-256.</summary>
internal static class SentenceKey
{
    public static UInt128 HashOf(string text)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(MemoryMarshal.AsBytes(text.AsSpan()), hash);
        return MemoryMarshal.Read<UInt128>(hash);
    }
}
