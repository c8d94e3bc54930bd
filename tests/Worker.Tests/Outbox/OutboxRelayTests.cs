using System.Reflection;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Outbox;
using MassTransit;
using MassTransit.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Worker.Tests.Outbox;

/// <summary>
/// One relay pass over a database of its own (no worker runs on it), publishing to MassTransit's in-memory harness:
/// wake-up messages due together go out as one per contract, and their rows share that message's fate.
/// </summary>
public sealed class OutboxRelayTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task Wake_ups_due_together_are_published_as_one_message_per_contract_and_all_their_rows_are_deleted()
    {
        var now = DateTimeOffset.UtcNow;
        var tenant = Guid.NewGuid();
        var rows = new[]
        {
            OutboxMessage.Create(new DeliverFeedback(Guid.NewGuid(), tenant), tenant, now.AddSeconds(-50), now.AddSeconds(-50)),
            OutboxMessage.Create(new SendInvitation(Guid.NewGuid(), tenant), tenant, now.AddSeconds(-40), now.AddSeconds(-40)),
            OutboxMessage.Create(new DeliverFeedback(Guid.NewGuid(), tenant), tenant, now.AddSeconds(-30), now.AddSeconds(-30)),
            OutboxMessage.Create(new DeliverFeedback(Guid.NewGuid(), tenant), tenant, now.AddSeconds(-20), now.AddSeconds(-20)),
            OutboxMessage.Create(new SendInvitation(Guid.NewGuid(), tenant), tenant, now.AddSeconds(-10), now.AddSeconds(-10)),
        };
        var later = OutboxMessage.Create(new DeliverFeedback(Guid.NewGuid(), tenant), tenant, now, now.AddHours(1));
        await ArrangeAsync([.. rows, later]);
        await using var services = Services();
        var harness = services.GetRequiredService<ITestHarness>();
        await harness.Start();

        var relayed = await services.GetRequiredService<OutboxRelay>().PublishDueAsync(CancellationToken.None);

        Assert.Equal(5, relayed);
        var feedback = Assert.Single(harness.Published.Select<DeliverFeedback>().ToList());
        Assert.Equal(rows[0].Id, feedback.Context.MessageId);
        var invitation = Assert.Single(harness.Published.Select<SendInvitation>().ToList());
        Assert.Equal(rows[1].Id, invitation.Context.MessageId);
        await using var db = database.CreateDbContext();
        Assert.Equal([later.Id], await db.OutboxMessages.Where(m => m.TenantId == tenant).Select(m => m.Id).ToListAsync());
    }

    [Fact]
    public async Task When_the_broker_refuses_the_message_every_row_it_stood_for_stays_with_the_failure_recorded()
    {
        var now = DateTimeOffset.UtcNow;
        var tenant = Guid.NewGuid();
        var rows = Enumerable.Range(1, 3)
            .Select(i => OutboxMessage.Create(new SendTestEmail(Guid.NewGuid(), tenant), tenant, now.AddSeconds(-i), now.AddSeconds(-i)))
            .ToArray();
        await ArrangeAsync(rows);
        await using var services = Services(refusingBroker: true);

        var relayed = await services.GetRequiredService<OutboxRelay>().PublishDueAsync(CancellationToken.None);

        Assert.Equal(0, relayed);
        await using var db = database.CreateDbContext();
        var left = await db.OutboxMessages.AsNoTracking().Where(m => m.TenantId == tenant).ToListAsync();
        Assert.Equal(rows.Select(r => r.Id).Order(), left.Select(m => m.Id).Order());
        Assert.All(left, m =>
        {
            Assert.Equal(1, m.Attempts);
            Assert.False(string.IsNullOrEmpty(m.LastError));
            Assert.True(m.DueAt > now, "a refused message waits before its next try");
        });
    }

    [Fact]
    public void Every_contract_the_outbox_carries_today_only_wakes_its_consumer()
    {
        Assert.All(MessageTypes.All, t => Assert.True(MessageTypes.IsWakeUpOnly(MessageTypes.NameOf(t)), t.Name));
    }

    private async Task ArrangeAsync(IEnumerable<OutboxMessage> rows)
    {
        await using var db = database.CreateDbContext();
        await db.Database.ExecuteSqlRawAsync("DELETE FROM outbox_messages"); // this class's database: another test's rows may wait in it
        db.OutboxMessages.AddRange(rows);
        await db.SaveChangesAsync();
    }

    private ServiceProvider Services(bool refusingBroker = false)
    {
        var services = database.Services();
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<OutboxOptions>().Configure(o => o.PublishTimeout = TimeSpan.FromSeconds(2));
        if (refusingBroker)
            services.AddSingleton(RefusingBus.Create());
        else
            services.AddMassTransitTestHarness();
        services.AddSingleton<OutboxRelay>();
        return services.BuildServiceProvider();
    }
}

/// <summary>A broker that refuses every publish (its confirm never comes), as RabbitMQ does when it is unreachable.</summary>
public class RefusingBus : DispatchProxy
{
    public static IBus Create() => Create<IBus, RefusingBus>();

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
        throw new InvalidOperationException("The broker is unreachable.");
}
