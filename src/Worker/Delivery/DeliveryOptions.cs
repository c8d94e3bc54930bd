namespace FeedbackHub.Worker.Delivery;

/// <summary>The <c>Delivery</c> configuration section.</summary>
public sealed class DeliveryOptions
{
    /// <summary>Transient failures (4xx, unreachable server) before a delivery fails.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The wait after the first transient failure; it doubles after each further one.</summary>
    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an attempt's claim lasts unless renewed. The worker renews the leases of its attempts every third of this
    /// (<see cref="SendingLeases"/>), however long SMTP takes; once a worker has died, recovery takes its attempts over
    /// within one lease and <see cref="RecoveryInterval"/>.
    /// </summary>
    public TimeSpan SendingLease { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often interrupted (lease expired) deliveries are looked for.</summary>
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Once the SMTP server has answered, how long the worker keeps trying to record the answer while the database is
    /// unreachable (backoff up to 2 s) before it leaves the attempt to recovery, which sends it again as a possible duplicate.
    /// </summary>
    public TimeSpan RecordOutcomeFor { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How many interrupted deliveries one recovery pass claims.</summary>
    public int RecoveryBatchSize { get; set; } = 100;

    /// <summary>
    /// A scheduled delivery, pending webhook delivery or queued invitation still not handled this long after its due time
    /// has lost its message (a purged or dead-lettered queue): recovery queues a new one and moves the due time to now.
    /// Keep it well above the longest backlog you expect, or a backlog gets extra (harmless) messages.
    /// </summary>
    public TimeSpan LostMessageAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A message that arrives this much before the delivery's due time is ignored (the due message follows).</summary>
    public TimeSpan EarlyTolerance { get; set; } = TimeSpan.FromSeconds(2);
}
