using MassTransit;

namespace FeedbackHub.Worker.Outbound;

/// <summary>
/// The one consumer of every channel: a message names an item, the channel of its message type sends it through the
/// core. One queue per message type (MassTransit names a generic consumer's endpoint after its type argument:
/// <c>deliver-feedback</c>, <c>send-invitation</c>, <c>send-test-email</c>, <c>deliver-webhook</c>), so a slow channel never
/// holds up another.
/// </summary>
public sealed class OutboundConsumer<TMessage>(OutboundProcessor processor, IOutboundChannel<TMessage> channel) : IConsumer<TMessage>
    where TMessage : class
{
    public Task Consume(ConsumeContext<TMessage> context) =>
        processor.ProcessAsync(channel, channel.ItemIdOf(context.Message), context.CancellationToken);
}

public static class OutboundRegistration
{
    /// <summary>
    /// Adds a channel: its consumer on a queue of its own (database failures retried for about 90 s, nothing else: the
    /// core schedules retries as due times), and the channel for recovery to find by name.
    /// </summary>
    public static void AddOutboundChannel<TChannel, TMessage>(this IBusRegistrationConfigurator bus, IServiceCollection services, int? concurrentMessageLimit = null)
        where TChannel : class, IOutboundChannel<TMessage>
        where TMessage : class
    {
        services.AddScoped<TChannel>();
        services.AddScoped<IOutboundChannel<TMessage>>(sp => sp.GetRequiredService<TChannel>());
        services.AddScoped<IOutboundChannel>(sp => sp.GetRequiredService<TChannel>());
        bus.AddConsumer<OutboundConsumer<TMessage>>((_, consumer) => consumer.UseDatabaseRetry())
            .Endpoint(e =>
            {
                if (concurrentMessageLimit is { } limit)
                    e.ConcurrentMessageLimit = limit;
            });
    }
}
