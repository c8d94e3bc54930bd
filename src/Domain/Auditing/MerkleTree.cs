using System.Numerics;
using System.Security.Cryptography;

namespace FeedbackHub.Domain.Auditing;

/// <summary>
/// The Merkle tree of RFC 9162 (Certificate Transparency 2.0), section 2.1: leaf hashes <c>SHA-256(0x00 || leaf)</c>,
/// interior nodes <c>SHA-256(0x01 || left || right)</c>, the tree over n leaves split at the largest power of two below n.
/// A node is named by its level (0 = leaves) and index: node (L, i) covers leaves [i * 2^L, (i + 1) * 2^L). Only complete
/// nodes are ever stored, so they never change once written; every root and proof is computed from them.
/// </summary>
public static class MerkleTree
{
    public static byte[] EmptyRoot { get; } = SHA256.HashData(ReadOnlySpan<byte>.Empty);

    public static byte[] LeafHash(ReadOnlySpan<byte> leaf)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData([0x00]);
        sha.AppendData(leaf);
        return sha.GetHashAndReset();
    }

    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData([0x01]);
        sha.AppendData(left);
        sha.AppendData(right);
        return sha.GetHashAndReset();
    }

    /// <summary>
    /// The complete nodes on the right edge of a tree of <paramref name="size"/> leaves, largest first: one per bit set in
    /// the size. With them a tree can be extended and its root computed without reading anything else.
    /// </summary>
    public static IReadOnlyList<NodeId> Frontier(long size)
    {
        var nodes = new List<NodeId>();
        for (var level = 62; level >= 0; level--)
        {
            if ((size & (1L << level)) != 0)
                nodes.Add(new NodeId(level, (size >> level) - 1));
        }

        return nodes;
    }

    /// <summary>The root of a tree from its frontier's hashes (largest first), folded from the right as RFC 9162 splits it.</summary>
    public static byte[] RootFromFrontier(IReadOnlyList<byte[]> frontier)
    {
        ArgumentNullException.ThrowIfNull(frontier);
        if (frontier.Count == 0)
            return EmptyRoot;
        var root = frontier[^1];
        for (var i = frontier.Count - 2; i >= 0; i--)
            root = NodeHash(frontier[i], root);
        return root;
    }

    /// <summary>The hash of leaves [start, start + count), from complete nodes only.</summary>
    public static byte[] RangeHash(long start, long count, Func<NodeId, byte[]> node)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (BitOperations.IsPow2(count))
        {
            var level = BitOperations.Log2((ulong)count);
            return node(new NodeId(level, start >> level));
        }

        var k = LargestPowerOfTwoBelow(count);
        return NodeHash(RangeHash(start, k, node), RangeHash(start + k, count - k, node));
    }

    /// <summary>The root of the tree over the first <paramref name="size"/> leaves.</summary>
    public static byte[] Root(long size, Func<NodeId, byte[]> node) => size == 0 ? EmptyRoot : RangeHash(0, size, node);

    /// <summary>RFC 9162 2.1.3.1: the inclusion proof (audit path) of leaf <paramref name="index"/> in the tree of <paramref name="size"/> leaves.</summary>
    public static List<byte[]> InclusionProof(long index, long size, Func<NodeId, byte[]> node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (index < 0 || index >= size)
            throw new ArgumentOutOfRangeException(nameof(index), "The leaf is not in the tree.");
        var path = new List<byte[]>();
        Path(index, 0, size, node, path);
        return path;
    }

    private static void Path(long m, long start, long n, Func<NodeId, byte[]> node, List<byte[]> path)
    {
        if (n == 1)
            return;
        var k = LargestPowerOfTwoBelow(n);
        if (m < k)
        {
            Path(m, start, k, node, path);
            path.Add(RangeHash(start + k, n - k, node));
        }
        else
        {
            Path(m - k, start + k, n - k, node, path);
            path.Add(RangeHash(start, k, node));
        }
    }

    /// <summary>RFC 9162 2.1.4.1: the proof that the tree of <paramref name="newSize"/> leaves extends the one of <paramref name="oldSize"/>.</summary>
    public static List<byte[]> ConsistencyProof(long oldSize, long newSize, Func<NodeId, byte[]> node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (oldSize < 0 || oldSize > newSize)
            throw new ArgumentOutOfRangeException(nameof(oldSize), "The old tree must not be larger than the new one.");
        var proof = new List<byte[]>();
        if (oldSize == 0 || oldSize == newSize)
            return proof;
        SubProof(oldSize, 0, newSize, true, node, proof);
        return proof;
    }

    private static void SubProof(long m, long start, long n, bool b, Func<NodeId, byte[]> node, List<byte[]> proof)
    {
        if (m == n)
        {
            if (!b)
                proof.Add(RangeHash(start, n, node));
            return;
        }

        var k = LargestPowerOfTwoBelow(n);
        if (m <= k)
        {
            SubProof(m, start, k, b, node, proof);
            proof.Add(RangeHash(start + k, n - k, node));
        }
        else
        {
            SubProof(m - k, start + k, n - k, false, node, proof);
            proof.Add(RangeHash(start, k, node));
        }
    }

    /// <summary>RFC 9162 2.1.3.2: whether <paramref name="path"/> proves leaf <paramref name="index"/> is in the tree with <paramref name="root"/>.</summary>
    public static bool VerifyInclusion(long index, long size, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> path, ReadOnlySpan<byte> root)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (index < 0 || index >= size)
            return false;
        var fn = index;
        var sn = size - 1;
        var r = leafHash.ToArray();
        foreach (var p in path)
        {
            if (sn == 0)
                return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                r = NodeHash(p, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                r = NodeHash(r, p);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && r.AsSpan().SequenceEqual(root);
    }

    /// <summary>RFC 9162 2.1.4.2: whether <paramref name="proof"/> shows the tree with <paramref name="newRoot"/> extends the one with <paramref name="oldRoot"/>.</summary>
    public static bool VerifyConsistency(long oldSize, long newSize, ReadOnlySpan<byte> oldRoot, ReadOnlySpan<byte> newRoot, IReadOnlyList<byte[]> proof)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (oldSize < 0 || oldSize > newSize)
            return false;
        if (oldSize == newSize)
            return proof.Count == 0 && oldRoot.SequenceEqual(newRoot);
        if (oldSize == 0)
            return proof.Count == 0;
        if (proof.Count == 0)
            return false;
        var path = new List<byte[]>(proof);
        if (BitOperations.IsPow2(oldSize))
            path.Insert(0, oldRoot.ToArray());
        if (path.Count == 0)
            return false;
        var fn = oldSize - 1;
        var sn = newSize - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        var fr = path[0];
        var sr = path[0];
        foreach (var c in path.Skip(1))
        {
            if (sn == 0)
                return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                fr = NodeHash(c, fr);
                sr = NodeHash(c, sr);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                sr = NodeHash(sr, c);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && fr.AsSpan().SequenceEqual(oldRoot) && sr.AsSpan().SequenceEqual(newRoot);
    }

    private static long LargestPowerOfTwoBelow(long n) => 1L << BitOperations.Log2((ulong)(n - 1));
}

/// <summary>A complete node of the tree: leaves [Index * 2^Level, (Index + 1) * 2^Level).</summary>
public readonly record struct NodeId(int Level, long Index);

/// <summary>Appends leaves to a tree whose frontier is known, collecting the complete nodes each append creates.</summary>
public sealed class MerkleAppender
{
    private readonly List<(NodeId Id, byte[] Hash)> _frontier;

    /// <param name="size">The tree's size now.</param>
    /// <param name="frontier">The hashes of <see cref="MerkleTree.Frontier"/>(size), largest first.</param>
    public MerkleAppender(long size, IReadOnlyList<byte[]> frontier)
    {
        ArgumentNullException.ThrowIfNull(frontier);
        var ids = MerkleTree.Frontier(size);
        if (ids.Count != frontier.Count)
            throw new ArgumentException($"A tree of {size} leaves has {ids.Count} frontier nodes, not {frontier.Count}.", nameof(frontier));
        _frontier = ids.Zip(frontier).Select(p => (p.First, p.Second)).ToList();
        Size = size;
    }

    public long Size { get; private set; }

    /// <summary>Every complete node created by the appends so far (leaves included), in creation order.</summary>
    public List<(NodeId Id, byte[] Hash)> NewNodes { get; } = [];

    public void Append(byte[] leafHash)
    {
        var node = (Id: new NodeId(0, Size), Hash: leafHash);
        NewNodes.Add(node);
        // While the new node is a right child, it completes its parent with the frontier's last node.
        while ((node.Id.Index & 1) == 1)
        {
            var left = _frontier[^1];
            _frontier.RemoveAt(_frontier.Count - 1);
            node = (new NodeId(node.Id.Level + 1, node.Id.Index >> 1), MerkleTree.NodeHash(left.Hash, node.Hash));
            NewNodes.Add(node);
        }

        _frontier.Add(node);
        Size++;
    }

    public byte[] Root() => MerkleTree.RootFromFrontier(_frontier.Select(f => f.Hash).ToList());
}
