namespace FeedbackHub.Domain.Model;

/// <summary>
/// The first answer to a creating POST sent with an <c>Idempotency-Key</c>: a repeat with the same key and body
/// replays it; the same key with another body is refused. Kept 24 hours.
/// </summary>
public sealed class IdempotencyRecord
{
    private IdempotencyRecord()
    {
        Key = string.Empty;
        RequestHash = [];
    }

    public Guid TenantId { get; private set; }

    public string Key { get; private set; }

    /// <summary>SHA-256 of method, path and body.</summary>
    public byte[] RequestHash { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    /// <summary>Null while the first request is still being processed.</summary>
    public int? StatusCode { get; private set; }

    public string? ResponseBody { get; private set; }

    public string? Location { get; private set; }

    public static IdempotencyRecord Start(Guid tenantId, string key, byte[] requestHash, DateTimeOffset now) =>
        new() { TenantId = tenantId, Key = key, RequestHash = requestHash, CreatedAt = now };

    public void Complete(int statusCode, string body, string? location)
    {
        StatusCode = statusCode;
        ResponseBody = body;
        Location = location;
    }
}
