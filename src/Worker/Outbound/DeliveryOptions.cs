namespace FeedbackHub.Worker.Outbound;

/// <summary>The <c>Delivery</c> configuration section: the outbound core's timings and the email channels' retries.</summary>
public sealed class DeliveryOptions
{
    /// <summary>Transient email failures (4xx, unreachable server) before an email fails.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The wait after the first transient failure; it doubles after each further one (at most an hour).</summary>
    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest wait between two tries while the mail server has a problem that is the operator's to fix (5xx
    /// outside RCPT TO, TLS, authentication): such tries are not counted, nothing is suppressed, and once the server is
    /// fixed every waiting email goes out within this time.
    /// </summary>
    public TimeSpan ServerProblemRetry { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long an attempt's claim lasts unless renewed. The worker renews the leases of its attempts every third of this
    /// (<see cref="SendingLeases"/>), however long the other side takes; once a worker has died, recovery takes its
    /// attempts over within one lease and <see cref="RecoveryInterval"/>.
    /// </summary>
    public TimeSpan SendingLease { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often interrupted attempts and lost messages are looked for.</summary>
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Once the other side has answered, how long the worker keeps trying to record the answer while the database is
    /// unreachable (backoff up to 2 s) before it leaves the attempt to recovery, which sends it again as a possible duplicate.
    /// </summary>
    public TimeSpan RecordOutcomeFor { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How many items one recovery pass looks at.</summary>
    public int RecoveryBatchSize { get; set; } = 100;

    /// <summary>
    /// An item still scheduled this long after its due time has lost its message (a purged or dead-lettered queue):
    /// recovery queues a new one and moves the due time to now. Keep it well above the longest backlog you expect, or a
    /// backlog gets extra (harmless) messages.
    /// </summary>
    public TimeSpan LostMessageAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Email items one worker holds claimed at most (sending or waiting for an SMTP connection); also the largest claim.</summary>
    public int BatchSize { get; set; } = 256;

    /// <summary>
    /// Emails one worker hands over at once; the SMTP sender's pool (<c>Smtp:MaxConnections</c>) bounds the conversations
    /// themselves, the rest wait there for a free connection.
    /// </summary>
    public int ConcurrentSends { get; set; } = 64;

    /// <summary>How long the email dispatcher sleeps when it found nothing due (a channel's message, a recorded batch or an <c>outbound_due</c> notification wakes it at once).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Whether the worker listens for <c>outbound_due</c> (<see cref="Domain.Persistence.OutboundWakeUps"/>) on a connection of
    /// its own, so items created due at once (webhook events, test emails, invitations) are claimed within milliseconds of
    /// their commit rather than at the next poll. Turn it off where notifications cannot arrive (PgBouncer in transaction
    /// mode); the polls then find everything, at most one <see cref="PollInterval"/> later.
    /// </summary>
    public bool WakeOnNotification { get; set; } = true;
}
