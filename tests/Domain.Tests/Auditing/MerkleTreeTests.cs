using System.Security.Cryptography;
using FeedbackHub.Domain.Auditing;

namespace FeedbackHub.Domain.Tests.Auditing;

public sealed class MerkleTreeTests
{
    // The leaves of the Certificate Transparency reference tests (RFC 6962 / RFC 9162 implementations).
    private static readonly byte[][] ReferenceLeaves =
        new[] { "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f" }
            .Select(Convert.FromHexString).ToArray();

    [Fact]
    public void Roots_match_the_reference_vectors()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Hex(MerkleTree.EmptyRoot));
        Assert.Equal("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", Hex(Build(ReferenceLeaves[..1]).Root()));
        Assert.Equal("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328", Hex(Build(ReferenceLeaves).Root()));
    }

    [Fact]
    public void Roots_from_stored_nodes_and_from_the_frontier_equal_the_recursive_definition_for_every_size()
    {
        var leaves = Leaves(70);
        var (nodes, _) = Store(leaves);
        for (var n = 1; n <= leaves.Count; n++)
        {
            var expected = Reference(leaves.Take(n).ToList());
            Assert.Equal(Hex(expected), Hex(MerkleTree.Root(n, id => nodes[id])));
            Assert.Equal(Hex(expected), Hex(Build(leaves.Take(n)).Root()));
        }
    }

    [Fact]
    public void A_tree_extended_in_batches_from_its_stored_frontier_equals_one_built_at_once()
    {
        var leaves = Leaves(53);
        var stored = new Dictionary<NodeId, byte[]>();
        long size = 0;
        foreach (var batch in leaves.Chunk(7))
        {
            var tree = new MerkleAppender(size, MerkleTree.Frontier(size).Select(id => stored[id]).ToList());
            foreach (var leaf in batch)
                tree.Append(MerkleTree.LeafHash(leaf));
            foreach (var (id, hash) in tree.NewNodes)
                stored.Add(id, hash); // each complete node is created once
            size = tree.Size;
            Assert.Equal(Hex(Reference(leaves.Take((int)size).ToList())), Hex(tree.Root()));
        }
    }

    [Fact]
    public void Every_inclusion_proof_verifies_and_fails_for_another_leaf_index_or_root()
    {
        var leaves = Leaves(33);
        var (nodes, hashes) = Store(leaves);
        for (var n = 1; n <= leaves.Count; n++)
        {
            var root = MerkleTree.Root(n, id => nodes[id]);
            for (var m = 0; m < n; m++)
            {
                var path = MerkleTree.InclusionProof(m, n, id => nodes[id]);
                Assert.True(MerkleTree.VerifyInclusion(m, n, hashes[m], path, root), $"leaf {m} of {n}");
                if (n > 1)
                    Assert.False(MerkleTree.VerifyInclusion((m + 1) % n, n, hashes[m], path, root), $"leaf {m} of {n} as another index");
                Assert.False(MerkleTree.VerifyInclusion(m, n, hashes[m], path, MerkleTree.EmptyRoot));
            }
        }
    }

    [Fact]
    public void Every_consistency_proof_verifies_and_a_changed_history_does_not()
    {
        var leaves = Leaves(33);
        var (nodes, _) = Store(leaves);
        var other = leaves.ToList();
        other[2] = [0xff];
        var (otherNodes, _) = Store(other);
        for (var n = 1; n <= leaves.Count; n++)
        {
            var newRoot = MerkleTree.Root(n, id => nodes[id]);
            for (var m = 1; m <= n; m++)
            {
                var oldRoot = MerkleTree.Root(m, id => nodes[id]);
                var proof = MerkleTree.ConsistencyProof(m, n, id => nodes[id]);
                Assert.True(MerkleTree.VerifyConsistency(m, n, oldRoot, newRoot, proof), $"{m} -> {n}");
                if (m > 2 && m < n)
                {
                    // The earlier tree of a log whose third leaf was rewritten is not extended by the real one.
                    var forgedOld = MerkleTree.Root(m, id => otherNodes[id]);
                    Assert.False(MerkleTree.VerifyConsistency(m, n, forgedOld, newRoot, proof), $"forged {m} -> {n}");
                }
            }
        }
    }

    [Fact]
    public void Proofs_of_impossible_trees_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.InclusionProof(3, 3, _ => []));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.ConsistencyProof(4, 3, _ => []));
        Assert.False(MerkleTree.VerifyInclusion(3, 3, new byte[32], [], new byte[32]));
        Assert.False(MerkleTree.VerifyConsistency(2, 3, new byte[32], new byte[32], []));
    }

    private static List<byte[]> Leaves(int count) => Enumerable.Range(0, count).Select(i => BitConverter.GetBytes(i * 7919)).ToList();

    private static MerkleAppender Build(IEnumerable<byte[]> leaves)
    {
        var tree = new MerkleAppender(0, []);
        foreach (var leaf in leaves)
            tree.Append(MerkleTree.LeafHash(leaf));
        return tree;
    }

    private static (Dictionary<NodeId, byte[]> Nodes, List<byte[]> LeafHashes) Store(IReadOnlyList<byte[]> leaves)
    {
        var tree = Build(leaves);
        return (tree.NewNodes.ToDictionary(n => n.Id, n => n.Hash), leaves.Select(l => MerkleTree.LeafHash(l)).ToList());
    }

    /// <summary>RFC 9162 2.1.1, literally: MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])).</summary>
    private static byte[] Reference(List<byte[]> leaves)
    {
        if (leaves.Count == 1)
            return SHA256.HashData([0x00, .. leaves[0]]);
        var k = 1;
        while (k * 2 < leaves.Count)
            k *= 2;
        return SHA256.HashData([0x01, .. Reference(leaves.Take(k).ToList()), .. Reference(leaves.Skip(k).ToList())]);
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
