using System.Text.Json;
using FeedbackHub.Messages;

namespace FeedbackHub.Domain.Outbox;

/// <summary>
/// A message written in the same transaction as the state change that causes it; the worker's relay
/// publishes it to RabbitMQ when <see cref="DueAt"/> has come, then deletes the row.
/// </summary>
public sealed class OutboxMessage
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private OutboxMessage()
    {
        MessageType = string.Empty;
        Body = "{}";
    }

    /// <summary>Also the MassTransit MessageId, so consumers can deduplicate on it.</summary>
    public Guid Id { get; private set; }

    public Guid? TenantId { get; private set; }

    public string MessageType { get; private set; }

    public string Body { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    /// <summary>Not published before this time (delayed sends and retry backoff live here, not in the broker).</summary>
    public DateTimeOffset DueAt { get; private set; }

    /// <summary>Failed publish attempts so far.</summary>
    public int Attempts { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>A message (a contract of <see cref="MessageTypes"/>, by its runtime type) due at <paramref name="dueAt"/> or now.</summary>
    public static OutboxMessage Create(object message, Guid? tenantId, DateTimeOffset now, DateTimeOffset? dueAt = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var type = message.GetType();
        return new OutboxMessage
        {
            Id = Guid.CreateVersion7(now),
            TenantId = tenantId,
            MessageType = MessageTypes.NameOf(MessageTypes.Resolve(MessageTypes.NameOf(type))),
            Body = JsonSerializer.Serialize(message, type, Json),
            CreatedAt = now,
            DueAt = dueAt is { } d && d > now ? d : now,
        };
    }

    /// <summary>The broker did not take it: try again after a growing delay (1 s, 2 s, 4 s, ... at most 1 min).</summary>
    public void RecordPublishFailure(string error, DateTimeOffset now)
    {
        Attempts++;
        LastError = error.Length > 2000 ? error[..2000] : error;
        DueAt = now + TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, Math.Min(Attempts - 1, 6))));
    }

    public object Deserialize() =>
        JsonSerializer.Deserialize(Body, MessageTypes.Resolve(MessageType), Json)
        ?? throw new InvalidOperationException($"Outbox message {Id} has an empty body.");
}
