using MassTransit;

namespace FeedbackHub.Worker.Outbound;

/// <summary>
/// The consumer of every email channel's message (<c>DeliverFeedback</c>, <c>SendInvitation</c>, <c>SendTestEmail</c>,
/// <c>SendPersonEmail</c>, each on its queue as before): it wakes the <see cref="EmailDispatcher"/>, which sends whatever
/// is due. The item's row decides, not the message, so a duplicate or early message sends nothing by itself.
/// </summary>
public sealed class OutboundConsumer<TMessage>(EmailDispatcher dispatcher) : IConsumer<TMessage>
    where TMessage : class
{
    public Task Consume(ConsumeContext<TMessage> context)
    {
        dispatcher.WakeUp();
        return Task.CompletedTask;
    }
}

public static class OutboundRegistration
{
    /// <summary>
    /// Adds an email channel: the channel (scoped, for the dispatcher's claims and records and for recovery to find by
    /// name) and the consumer of its message on a queue of its own, which wakes the <see cref="EmailDispatcher"/>.
    /// </summary>
    public static void AddOutboundChannel<TChannel, TMessage>(this IBusRegistrationConfigurator bus, IServiceCollection services)
        where TChannel : class, IOutboundChannel<TMessage>
        where TMessage : class
    {
        services.AddScoped<TChannel>();
        services.AddScoped<IOutboundChannel<TMessage>>(sp => sp.GetRequiredService<TChannel>());
        services.AddScoped<IOutboundChannel>(sp => sp.GetRequiredService<TChannel>());
        bus.AddConsumer<OutboundConsumer<TMessage>>();
    }
}
