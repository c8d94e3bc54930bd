using FeedbackHub.Messages;
using FeedbackHub.Worker.Outbound;
using FeedbackHub.Worker.Webhooks;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Worker.Tests.Outbound;

/// <summary>How the channels are wired: one queue per message type, named as before the core, and every channel known to recovery.</summary>
public sealed class OutboundChannelTests
{
    [Fact]
    public void Each_channel_has_a_queue_of_its_own_named_after_its_message()
    {
        var formatter = new KebabCaseEndpointNameFormatter(null, false);
        Assert.Equal(
            ["deliver-feedback", "send-invitation", "send-test-email", "deliver-webhook"],
            new[]
            {
                formatter.Consumer<OutboundConsumer<DeliverFeedback>>(),
                formatter.Consumer<OutboundConsumer<SendInvitation>>(),
                formatter.Consumer<OutboundConsumer<SendTestEmail>>(),
                formatter.Consumer<DeliverWebhookConsumer>(), // wakes the webhook dispatcher
            });
    }

    [Fact]
    public async Task Every_message_type_has_a_channel_and_every_channel_a_distinct_name()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@127.0.0.1:1/";
        builder.Configuration["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Database=never-connected";
        builder.Configuration["Webhooks:SecretKey"] = FeedbackHub.Tests.TestServices.WebhookSecretKey;
        builder.AddFeedbackHubWorker();
        await using var provider = builder.Services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        var channels = scope.ServiceProvider.GetServices<IOutboundChannel>().ToList();
        Assert.Equal(MessageTypes.All.Count(), channels.Count);
        Assert.Equal(channels.Count, channels.Select(c => c.Name).Distinct().Count());
        Assert.NotNull(scope.ServiceProvider.GetService<IOutboundChannel<DeliverFeedback>>());
        Assert.NotNull(scope.ServiceProvider.GetService<IOutboundChannel<SendInvitation>>());
        Assert.NotNull(scope.ServiceProvider.GetService<IOutboundChannel<SendTestEmail>>());
        Assert.NotNull(scope.ServiceProvider.GetService<IOutboundChannel<DeliverWebhook>>());
    }
}
