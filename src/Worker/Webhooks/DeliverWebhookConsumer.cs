using FeedbackHub.Messages;
using MassTransit;

namespace FeedbackHub.Worker.Webhooks;

/// <summary>
/// A <see cref="DeliverWebhook"/> message (a manual redelivery, an attempt recovery took over, a message queued before
/// the dispatcher existed) wakes the <see cref="WebhookDispatcher"/>, which sends whatever is due: the delivery row
/// decides, not the message, so a duplicate or early message sends nothing by itself. Queue <c>deliver-webhook</c>, as before.
/// </summary>
public sealed class DeliverWebhookConsumer(WebhookDispatcher dispatcher) : IConsumer<DeliverWebhook>
{
    public Task Consume(ConsumeContext<DeliverWebhook> context)
    {
        dispatcher.WakeUp();
        return Task.CompletedTask;
    }
}
