using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using FeedbackHub.Api.Features.Diagnostics;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Delivery;
using FeedbackHub.Worker.Tests.Webhooks;
using Npgsql;

namespace FeedbackHub.Worker.Tests.Outbound;

/// <summary>The API and a worker whose every poll sleeps ten minutes: only an <c>outbound_due</c> notification can wake it in time.</summary>
public sealed class SleepingWorkerFixture : IAsyncLifetime
{
    public static readonly TimeSpan Sleep = TimeSpan.FromMinutes(10);

    public ApiFactory Api { get; } = new();

    public WorkerHost Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        var settings = WebhookFixture.WorkerSettings();
        settings["Webhooks:PollInterval"] = settings["Delivery:PollInterval"] = settings["Outbox:PollInterval"] = Sleep.ToString();
        Worker = await WorkerHost.StartAsync(Api.Database.ConnectionString, "t" + Guid.NewGuid().ToString("N")[..10], settings);
    }

    public async Task DisposeAsync()
    {
        await Worker.DisposeAsync();
        await ((IAsyncLifetime)Api).DisposeAsync();
    }
}

/// <summary>
/// Items created due at once wake the dispatchers by notification (<see cref="OutboundWakeUps"/>): they go out within
/// moments of their commit although every poll of this worker (the dispatchers' and the outbox relay's) sleeps ten minutes.
/// </summary>
public sealed class OutboundWakeUpTests(SleepingWorkerFixture fixture) : IClassFixture<SleepingWorkerFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(10);
    private WebhookReceiver _receiver = null!;

    private ApiFactory Api => fixture.Api;

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    [Fact]
    public async Task A_webhook_event_raised_while_every_poll_sleeps_is_sent_at_once()
    {
        var tenant = await Api.CreateTenantAsync(settings: WebhookPipelineTests.DevSettings);
        await WebhookPipelineTests.SubscribeAsync(tenant, _receiver.Url("/woken"), WebhookEventTypes.FeedbackRequested);
        await Task.Delay(500); // the dispatcher's claim after the subscription's save (if any) is over: it sleeps now

        var raised = Stopwatch.StartNew();
        await WebhookPipelineTests.RaiseRequestAsync(Api, tenant.Id);
        await WaitUntilAsync(() => _receiver.At("/woken").Count == 1, "the feedback.requested webhook");

        Assert.True(raised.Elapsed < Soon, $"sent {raised.Elapsed.TotalMilliseconds:0} ms after the commit");
        Assert.Equal(WebhookEventTypes.FeedbackRequested, Assert.Single(_receiver.At("/woken")).EventType);
    }

    [Fact]
    public async Task A_test_email_requested_while_every_poll_sleeps_is_sent_at_once()
    {
        var tenant = await Api.CreateTenantAsync();
        var to = MailSink.NewAddress("woken");
        await Task.Delay(500);

        var requested = Stopwatch.StartNew();
        var response = await tenant.Admin.PostJsonAsync("/v1/diagnostics/test-email", new { to });
        await response.ReadAsync<TestEmailResponse>(HttpStatusCode.Accepted);

        // Its outbox message waits for the relay's next poll (ten minutes): the notification of the API's save woke the dispatcher.
        Assert.Single(await MailSink.WaitForAsync(to, timeout: Soon));
        Assert.True(requested.Elapsed < Soon, $"sent {requested.Elapsed.TotalMilliseconds:0} ms after the request");
    }

    [Fact]
    public async Task Only_a_committed_save_of_items_due_at_once_notifies_and_once_per_dispatcher()
    {
        var tenant = await Api.CreateTenantAsync(settings: WebhookPipelineTests.DevSettings with { CoolingOffDelay = TimeSpan.FromHours(1) });
        await using var listener = await Listener.StartAsync(Api.Database.ConnectionString);

        // A feedback email scheduled after its cooling-off (an hour): due later, no wake-up.
        await new DeliveryArrange(Api.Database, tenant.Id).DeliveriesAsync([MailSink.NewAddress("later")]);
        await WebhookPipelineTests.SubscribeAsync(tenant, _receiver.Url("/notified"), WebhookEventTypes.FeedbackRequested);

        // Rolled back: nothing was written, nobody is woken.
        await using (var db = Api.Database.CreateDbContext())
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            await WebhookPipelineTests.RaiseRequestAsync(db, tenant.Id);
            await tx.RollbackAsync();
        }

        await Task.Delay(500);
        Assert.Empty(listener.Payloads);

        // Two webhook events and a test email in one transaction: each dispatcher is woken once, when it commits.
        await using (var db = Api.Database.CreateDbContext())
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            await WebhookPipelineTests.RaiseRequestAsync(db, tenant.Id);
            await WebhookPipelineTests.RaiseRequestAsync(db, tenant.Id);
            db.TestEmails.Add(Domain.Email.TestEmail.Request(tenant.Id, MailSink.NewAddress("now"), DateTimeOffset.UtcNow));
            await db.SaveChangesAsync();
            await Task.Delay(300);
            Assert.Empty(listener.Payloads);
            await tx.CommitAsync();
        }

        await WaitUntilAsync(() => listener.Payloads.Count >= 2, "two notifications");
        await Task.Delay(300);
        Assert.Equal([OutboundWakeUps.Emails, OutboundWakeUps.Webhooks], listener.Payloads.Order(StringComparer.Ordinal));
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WebhookPipelineTests.WaitUntilAsync(condition, what);

    /// <summary>Collects the payloads of <see cref="OutboundWakeUps.Channel"/> on a connection of its own.</summary>
    private sealed class Listener : IAsyncDisposable
    {
        private readonly NpgsqlConnection _connection;
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<string> _payloads = new();
        private Task _loop = Task.CompletedTask;

        private Listener(NpgsqlConnection connection) => _connection = connection;

        public List<string> Payloads => [.. _payloads];

        public static async Task<Listener> StartAsync(string connectionString)
        {
            var listener = new Listener(new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString));
            listener._connection.Notification += (_, e) => listener._payloads.Enqueue(e.Payload);
            await listener._connection.OpenAsync();
            await using (var listen = new NpgsqlCommand($"LISTEN {OutboundWakeUps.Channel}", listener._connection))
                await listen.ExecuteNonQueryAsync();
            listener._loop = listener.WaitLoopAsync();
            return listener;
        }

        private async Task WaitLoopAsync()
        {
            try
            {
                while (true)
                    await _connection.WaitAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            await _connection.DisposeAsync();
            _stop.Dispose();
        }
    }
}
