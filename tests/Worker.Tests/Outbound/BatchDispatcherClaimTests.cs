using System.Collections.Concurrent;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Worker.Outbound;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Tests.Outbound;

/// <summary>
/// How much the batch engine claims while items are in flight (<c>SmallestClaim</c>): a pure unit test with a fake
/// channel family; the engine against PostgreSQL and the sink is covered by the delivery and webhook tests.
/// </summary>
public sealed class BatchDispatcherClaimTests
{
    [Fact]
    public async Task While_items_are_in_flight_it_claims_again_only_once_the_smallest_claim_is_free()
    {
        await using var dispatcher = new FakeDispatcher(batchSize: 8, smallestClaim: 4, due: 100);
        await dispatcher.StartAsync(CancellationToken.None);
        await dispatcher.WaitForClaimsAsync(1);
        Assert.Equal([8], dispatcher.Takes);

        // Three answers free three places: fewer than four, so no claim however long it waits.
        dispatcher.Answer(3);
        await Task.Delay(300);
        Assert.Equal([8], dispatcher.Takes);

        // The fourth answer frees four: one claim of four.
        dispatcher.Answer(1);
        await dispatcher.WaitForClaimsAsync(2);
        Assert.Equal([8, 4], dispatcher.Takes);
    }

    [Fact]
    public async Task With_the_default_smallest_claim_each_freed_place_is_claimed_again()
    {
        await using var dispatcher = new FakeDispatcher(batchSize: 8, smallestClaim: null, due: 100);
        await dispatcher.StartAsync(CancellationToken.None);
        await dispatcher.WaitForClaimsAsync(1);

        dispatcher.Answer(1);
        await dispatcher.WaitForClaimsAsync(2);
        Assert.Equal([8, 1], dispatcher.Takes);
    }

    [Fact]
    public async Task With_nothing_in_flight_a_lone_due_item_is_claimed_whatever_the_smallest_claim()
    {
        await using var dispatcher = new FakeDispatcher(batchSize: 8, smallestClaim: 4, due: 1);
        await dispatcher.StartAsync(CancellationToken.None);
        await dispatcher.WaitForClaimsAsync(1);
        Assert.Equal(1, dispatcher.Claimed);
        dispatcher.Answer(1);
        await dispatcher.WaitForRecordedAsync(1);

        // Nothing held: an item falling due now is claimed at the next poll, though one is less than the smallest claim.
        dispatcher.MakeDue(1);
        await FakeDispatcher.WaitUntilAsync(() => dispatcher.Claimed == 2, "the lone item was not claimed");
    }

    public sealed record Item(int N);

    /// <summary>A channel family whose items wait for the test to answer them; it records each claim's size.</summary>
    private sealed class FakeDispatcher(int batchSize, int? smallestClaim, int due)
        : BatchDispatcher<Item>(Leases(), TimeProvider.System, new DeliveryOptions(), new DispatchBounds(batchSize, batchSize, batchSize, TimeSpan.FromMilliseconds(50)), NullLogger.Instance), IAsyncDisposable
    {
        private static readonly AttemptAnswer Accepted = new(AttemptOutcome.Accepted, 250, "250 OK");
        private readonly ConcurrentQueue<int> _takes = new();
        private readonly SemaphoreSlim _answers = new(0);
        private int _due = due;
        private int _next;
        private int _recorded;

        public int[] Takes => [.. _takes];

        public int Claimed => Volatile.Read(ref _next);

        protected override string Name => "fake";

        protected override int SmallestClaim => smallestClaim ?? base.SmallestClaim;

        public void Answer(int count) => _answers.Release(count);

        public void MakeDue(int count) => Interlocked.Add(ref _due, count);

        public Task WaitForClaimsAsync(int claims) => WaitUntilAsync(() => _takes.Count >= claims, $"fewer than {claims} claims");

        public Task WaitForRecordedAsync(int items) => WaitUntilAsync(() => Volatile.Read(ref _recorded) >= items, $"fewer than {items} recorded");

        public static async Task WaitUntilAsync(Func<bool> condition, string message)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (!condition())
            {
                Assert.True(DateTime.UtcNow < deadline, message);
                await Task.Delay(10);
            }
        }

        protected override Task<IReadOnlyList<(Item Claim, AttemptAnswer? KnownAnswer)>> ClaimAsync(int take, CancellationToken ct)
        {
            var available = Volatile.Read(ref _due) - _next;
            var items = Enumerable.Range(_next, Math.Min(take, available)).Select(n => (new Item(n), (AttemptAnswer?)null)).ToList();
            if (items.Count > 0)
                _takes.Enqueue(take);
            Interlocked.Add(ref _next, items.Count);
            return Task.FromResult<IReadOnlyList<(Item, AttemptAnswer?)>>(items);
        }

        protected override async Task<AttemptAnswer> SendAsync(Item claim, CancellationToken ct)
        {
            await _answers.WaitAsync(ct);
            return Accepted;
        }

        protected override Task RecordAsync(IReadOnlyList<DispatchResult<Item>> batch)
        {
            Interlocked.Add(ref _recorded, batch.Count);
            return Task.CompletedTask;
        }

        protected override (Guid Id, int Attempt) IdOf(Item claim) => (new Guid(claim.N, 0, 0, new byte[8]), 1);

        public async ValueTask DisposeAsync()
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await StopAsync(stop.Token);
            Dispose();
        }

        private static SendingLeases Leases() =>
            new(new ServiceCollection().BuildServiceProvider().GetRequiredService<IServiceScopeFactory>(), TimeProvider.System,
                Options.Create(new DeliveryOptions()), NullLogger<SendingLeases>.Instance);
    }
}
