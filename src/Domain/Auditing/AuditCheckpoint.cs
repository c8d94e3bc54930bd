using System.Globalization;
using System.Text;

namespace FeedbackHub.Domain.Auditing;

/// <summary>
/// A signed statement "tenant T's audit tree had <see cref="TreeSize"/> events with root <see cref="RootHash"/> at
/// <see cref="CreatedAt"/>", written by each sealing run. An auditor who kept one checkpoint can check that a later one
/// extends it (a consistency proof) and that one event is in it (an inclusion proof) without reading the log.
/// </summary>
public sealed class AuditCheckpoint
{
    private AuditCheckpoint()
    {
        RootHash = [];
        Signature = [];
    }

    public Guid TenantId { get; private set; }

    public long TreeSize { get; private set; }

    public byte[] RootHash { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    /// <summary>The <see cref="AuditSigningKey"/> that signed it.</summary>
    public Guid KeyId { get; private set; }

    /// <summary>ECDSA P-256 with SHA-256 over <see cref="SignedText"/>, DER-encoded (RFC 3279), as OpenSSL writes it.</summary>
    public byte[] Signature { get; private set; }

    public string SignedText => Text(TenantId, TreeSize, RootHash, CreatedAt);

    /// <summary>The exact text a checkpoint's signature covers (UTF-8, lines ending in \n).</summary>
    public static string Text(Guid tenantId, long treeSize, byte[] rootHash, DateTimeOffset createdAt)
    {
        ArgumentNullException.ThrowIfNull(rootHash);
        return new StringBuilder()
            .Append("feedbackhub-audit-checkpoint/v1\n")
            .Append(CultureInfo.InvariantCulture, $"tenant {tenantId:D}\n")
            .Append(CultureInfo.InvariantCulture, $"size {treeSize}\n")
            .Append(CultureInfo.InvariantCulture, $"root {Convert.ToBase64String(rootHash)}\n")
            .Append(CultureInfo.InvariantCulture, $"time {createdAt.UtcDateTime:yyyy-MM-ddTHH:mm:ss.ffffffZ}\n")
            .ToString();
    }

    internal static AuditCheckpoint Create(Guid tenantId, long treeSize, byte[] rootHash, DateTimeOffset createdAt, Guid keyId, Func<byte[], byte[]> sign)
    {
        var at = AuditLeaf.Truncate(createdAt);
        return new AuditCheckpoint
        {
            TenantId = tenantId,
            TreeSize = treeSize,
            RootHash = rootHash,
            CreatedAt = at,
            KeyId = keyId,
            Signature = sign(Encoding.UTF8.GetBytes(Text(tenantId, treeSize, rootHash, at))),
        };
    }
}

/// <summary>A complete node of a tenant's audit tree (<see cref="MerkleTree"/>); written once, never changed.</summary>
public sealed class AuditTreeNode
{
    private AuditTreeNode()
    {
        Hash = [];
    }

    public Guid TenantId { get; private set; }

    public int Level { get; private set; }

    public long Index { get; private set; }

    public byte[] Hash { get; private set; }
}

/// <summary>
/// The deployment's checkpoint-signing key (ECDSA P-256): the public key is published with every checkpoint, the private
/// key is sealed with the secret box (<c>Webhooks:SecretKey</c>), so someone with only database access cannot sign.
/// </summary>
public sealed class AuditSigningKey
{
    private AuditSigningKey()
    {
        PublicKey = [];
        SealedPrivateKey = [];
    }

    public Guid Id { get; private set; }

    /// <summary>SubjectPublicKeyInfo (DER).</summary>
    public byte[] PublicKey { get; private set; }

    public byte[] SealedPrivateKey { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public const string SealPurpose = "audit-signing-key";

    internal static AuditSigningKey Create(Guid id, byte[] publicKey, byte[] sealedPrivateKey, DateTimeOffset now) =>
        new() { Id = id, PublicKey = publicKey, SealedPrivateKey = sealedPrivateKey, CreatedAt = now };

    /// <summary>Re-seals the private key under the box's current key; false when it already was (nothing changes).</summary>
    public bool ResealUnderCurrentKey(Webhooks.WebhookSecretBox box)
    {
        ArgumentNullException.ThrowIfNull(box);
        var pkcs8 = box.Open(SealedPrivateKey, Id, out var current, SealPurpose);
        if (current)
            return false;
        SealedPrivateKey = box.Seal(pkcs8, Id, SealPurpose);
        return true;
    }
}
