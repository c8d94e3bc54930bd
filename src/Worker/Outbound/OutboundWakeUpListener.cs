using FeedbackHub.Domain.Persistence;
using FeedbackHub.Worker.Webhooks;

namespace FeedbackHub.Worker.Outbound;

/// <summary>
/// Listens on a connection of its own (never a pooled one: <c>LISTEN</c> is session state) for
/// <see cref="OutboundWakeUps.Channel"/> and wakes the dispatcher the payload names, so items created due at once are
/// claimed within milliseconds of their commit. Reconnects after a second when the connection drops; meanwhile the
/// dispatchers' polls find everything, only later (<c>Delivery:WakeOnNotification</c>).
/// </summary>
public sealed partial class OutboundWakeUpListener(
    WebhookDispatcher webhooks, EmailDispatcher emails, IConfiguration configuration, ILogger<OutboundWakeUpListener> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        NotificationListening.RunAsync(configuration, OutboundWakeUps.Channel, Wake, _ => { }, error => LogLost(logger, error), stoppingToken);

    /// <summary>Wakes the dispatcher a payload names; any other payload is ignored.</summary>
    public void Wake(string payload)
    {
        switch (payload)
        {
            case OutboundWakeUps.Webhooks:
                webhooks.WakeUp();
                break;
            case OutboundWakeUps.Emails:
                emails.WakeUp();
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the outbound_due listener ({Error}); items created due at once wait for the next poll until it reconnects")]
    private static partial void LogLost(ILogger logger, string error);
}
