using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Worker.Webhooks;
using DeliveryItem = FeedbackHub.Domain.Delivery.Delivery;

namespace FeedbackHub.Worker.Tests.Webhooks;

/// <summary>
/// The dispatcher records a batch in SQL (<see cref="WebhookBatches.Next"/>); every other writer moves an outbound item
/// with <see cref="OutboundItem.RecordAnswer"/> and <see cref="OutboundItem.ReleaseUnsent"/>. Both must agree on every
/// sequence of answers: status, due time and whether the attempt counts against the budget.
/// </summary>
public sealed class WebhookBatchRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly RetryPolicy Policy = new(4, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(25));
    private static readonly AttemptOutcome[] Outcomes =
        [AttemptOutcome.Accepted, AttemptOutcome.PermanentFailure, AttemptOutcome.TransientFailure, AttemptOutcome.NotSent];

    [Fact]
    public void The_batch_rule_moves_a_delivery_as_the_outbound_item_does_for_every_sequence_of_answers()
    {
        var random = new Random(15);
        var compared = 0;
        var budgetSpent = 0;
        for (var run = 0; run < 1000; run++)
        {
            var application = new LockedApplication(Guid.NewGuid());
            var item = DeliveryItem.Schedule(application, Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), T0, "example.test", T0);
            var guard = new OutboundGuard(item.Id, application);
            var now = T0;
            var failures = 0; // what the claim reads: counted transient failures before this attempt
            while (item.Status == OutboundStatus.Scheduled)
            {
                now = item.DueAt > now ? item.DueAt : now;
                Assert.NotNull(item.TryClaim(guard, now, TimeSpan.FromMinutes(2)));
                var outcome = Outcomes[random.Next(Outcomes.Length)];
                var answer = outcome == AttemptOutcome.NotSent ? WebhookBatches.NotSent : new AttemptAnswer(outcome, 200, "answer");
                var expected = WebhookBatches.Next(answer, failures, Policy, now);
                if (outcome == AttemptOutcome.NotSent)
                    item.ReleaseUnsent(guard, now);
                else
                    item.RecordAnswer(guard, answer, Policy, now);

                var attempt = item.Attempts[^1];
                Assert.Equal(expected.Status, item.Status);
                if (item.Status == OutboundStatus.Scheduled)
                    Assert.Equal(expected.DueAt, item.DueAt);
                Assert.Equal(expected.CountsAgainstBudget, attempt.CountsAgainstBudget);
                if (outcome == AttemptOutcome.TransientFailure)
                {
                    failures++;
                    budgetSpent += item.Status == OutboundStatus.Failed ? 1 : 0;
                }

                compared++;
            }
        }

        Assert.True(compared > 1500, $"only {compared} answers compared");
        Assert.True(budgetSpent > 0, "no sequence spent the retry budget");
    }

    [Fact]
    public void A_claims_attempt_ids_are_distinct_increasing_version_7_uuids_of_its_millisecond()
    {
        for (var run = 0; run < 200; run++)
        {
            var ids = WebhookBatches.Version7Ids(256, T0);
            Assert.All(ids, id => Assert.Equal(7, id.Version));
            Assert.All(ids, id => Assert.Equal(0b10, id.ToByteArray(bigEndian: true)[8] >> 6)); // the RFC 9562 variant
            Assert.All(ids, id => Assert.Equal(T0.ToUnixTimeMilliseconds(), Millisecond(id)));
            Assert.True(ids.Zip(ids.Skip(1)).All(p => p.First.CompareTo(p.Second) < 0), "not strictly increasing");
        }

        Assert.Empty(WebhookBatches.Version7Ids(0, T0));
        Assert.NotEqual(WebhookBatches.Version7Ids(1, T0)[0], WebhookBatches.Version7Ids(1, T0)[0]);
    }

    private static long Millisecond(Guid id)
    {
        var bytes = id.ToByteArray(bigEndian: true);
        return bytes.Take(6).Aggregate(0L, (ms, b) => (ms << 8) | b);
    }
}
