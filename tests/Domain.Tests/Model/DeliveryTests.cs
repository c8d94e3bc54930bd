using FeedbackHub.Domain;
using FeedbackHub.Domain.Delivery;

namespace FeedbackHub.Domain.Tests.Model;

public sealed class DeliveryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    private static Delivery.Delivery New(DateTimeOffset? due = null) =>
        Delivery.Delivery.Schedule(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), due ?? T0, "example.test", T0);

    [Fact]
    public void Due_time_is_the_later_of_now_and_rejection_plus_cooling_off()
    {
        Assert.Equal(T0.AddDays(2), Delivery.Delivery.DueAt(T0, TimeSpan.FromDays(2), T0.AddHours(1)));
        Assert.Equal(T0.AddDays(5), Delivery.Delivery.DueAt(T0, TimeSpan.FromDays(2), T0.AddDays(5)));
        Assert.Equal(T0, Delivery.Delivery.DueAt(T0, TimeSpan.Zero, T0));
    }

    [Fact]
    public void Message_id_is_deterministic_per_delivery()
    {
        var d = New();
        Assert.Equal($"feedback.{d.Id:N}@example.test", d.MessageId);
    }

    [Fact]
    public void An_attempt_is_claimed_once_and_a_second_claim_is_refused_while_the_lease_runs()
    {
        var d = New();
        Assert.True(d.TryStartAttempt(T0, Lease));
        Assert.Equal(DeliveryStatus.Sending, d.Status);
        Assert.False(d.TryStartAttempt(T0.AddSeconds(10), Lease));
        Assert.Single(d.Attempts);
    }

    [Fact]
    public void Sent_deliveries_are_never_claimed_again()
    {
        var d = New();
        d.TryStartAttempt(T0, Lease);
        d.MarkSent("250 OK", T0.AddSeconds(1));
        Assert.False(d.TryStartAttempt(T0.AddHours(1), Lease));
        Assert.Equal(AttemptOutcome.Accepted, Assert.Single(d.Attempts).Outcome);
        Assert.Equal(T0.AddSeconds(1), d.SentAt);
    }

    [Fact]
    public void Transient_failures_back_off_exponentially_then_fail_when_the_budget_is_spent()
    {
        var d = New();
        var now = T0;
        var dues = new List<DateTimeOffset?>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(d.TryStartAttempt(now, Lease));
            var due = d.RecordTransientFailure("451 busy", now, maxAttempts: 3, TimeSpan.FromSeconds(10));
            dues.Add(due);
            now = due ?? now;
        }

        Assert.Equal([T0.AddSeconds(10), T0.AddSeconds(30), null], dues);
        Assert.Equal(DeliveryStatus.Failed, d.Status);
        Assert.Equal("451 busy", d.LastReply);
    }

    [Fact]
    public void A_permanent_failure_fails_at_once_and_retry_starts_the_budget_over()
    {
        var d = New();
        d.TryStartAttempt(T0, Lease);
        d.RecordPermanentFailure("550 no such user", T0);
        Assert.Equal(DeliveryStatus.Failed, d.Status);
        d.Retry(T0.AddMinutes(1));
        Assert.Equal(DeliveryStatus.Scheduled, d.Status);
        Assert.True(d.TryStartAttempt(T0.AddMinutes(1), Lease));
    }

    [Fact]
    public void A_claim_never_takes_over_an_expired_lease_only_an_interruption_does()
    {
        var d = New();
        d.TryStartAttempt(T0, Lease);
        Assert.False(d.TryStartAttempt(T0 + Lease + TimeSpan.FromSeconds(1), Lease)); // recovery decides, not a stray message
        Assert.False(d.PossibleDuplicate);

        d.Interrupt(T0 + Lease + TimeSpan.FromSeconds(1));
        Assert.True(d.PossibleDuplicate);
        Assert.True(d.TryStartAttempt(T0 + Lease + TimeSpan.FromSeconds(2), Lease));
        Assert.Equal([AttemptOutcome.Interrupted, AttemptOutcome.InProgress], d.Attempts.Select(a => a.Outcome));
    }

    [Fact]
    public void A_claim_released_before_the_hand_over_is_due_again_at_once_uncounted_and_not_a_possible_duplicate()
    {
        var d = New();
        Assert.True(d.TryStartAttempt(T0, Lease));
        d.ReleaseUnsent(T0.AddSeconds(3));

        Assert.Equal(DeliveryStatus.Scheduled, d.Status);
        Assert.Equal(T0.AddSeconds(3), d.ScheduledFor);
        Assert.Null(d.LeaseUntil);
        Assert.False(d.PossibleDuplicate);
        var attempt = Assert.Single(d.Attempts);
        Assert.Equal(AttemptOutcome.NotSent, attempt.Outcome);
        Assert.False(attempt.CountsAgainstBudget);
        Assert.True(d.TryStartAttempt(T0.AddSeconds(4), Lease)); // claimable again at once, without waiting for the lease
    }

    [Fact]
    public void Releasing_a_delivery_that_is_not_sending_changes_nothing()
    {
        var d = New();
        d.TryStartAttempt(T0, Lease);
        d.MarkSent("250 OK", T0.AddSeconds(1));
        d.ReleaseUnsent(T0.AddSeconds(2));
        Assert.Equal(DeliveryStatus.Sent, d.Status);
        Assert.Equal(AttemptOutcome.Accepted, Assert.Single(d.Attempts).Outcome);
    }

    [Fact]
    public void A_connection_lost_after_the_hand_over_is_retried_and_flagged_as_a_possible_duplicate()
    {
        var d = New();
        d.TryStartAttempt(T0, Lease);
        d.RecordTransientFailure("0 no answer after the hand-over", T0, maxAttempts: 3, TimeSpan.FromSeconds(10), mayHaveBeenAccepted: true);
        Assert.Equal(DeliveryStatus.Scheduled, d.Status);
        Assert.True(d.PossibleDuplicate);

        var refused = New();
        refused.TryStartAttempt(T0, Lease);
        refused.RecordTransientFailure("451 busy", T0, maxAttempts: 3, TimeSpan.FromSeconds(10));
        Assert.False(refused.PossibleDuplicate); // a 4xx answer means the server did not take it
    }

    [Fact]
    public void Only_a_scheduled_delivery_is_requeued_after_a_lost_message_and_its_due_time_moves_to_now()
    {
        var d = New();
        Assert.True(d.RequeueLost(T0.AddMinutes(20)));
        Assert.Equal(T0.AddMinutes(20), d.ScheduledFor);
        Assert.Empty(d.Attempts);

        d.TryStartAttempt(T0.AddMinutes(21), Lease);
        Assert.False(d.RequeueLost(T0.AddMinutes(40))); // sending: recovery's lease check handles it, not this
        d.MarkSent("250 OK", T0.AddMinutes(21));
        Assert.False(d.RequeueLost(T0.AddMinutes(40)));
        Assert.Equal(DeliveryStatus.Sent, d.Status);
    }

    [Fact]
    public void Repeated_interruptions_fail_the_delivery_instead_of_looping()
    {
        var d = New();
        var now = T0;
        for (var i = 0; i < Delivery.Delivery.MaxInterruptions; i++)
        {
            Assert.True(d.TryStartAttempt(now, Lease));
            now += Lease + TimeSpan.FromSeconds(1);
            d.Interrupt(now);
        }

        Assert.Equal(DeliveryStatus.Failed, d.Status);
        Assert.False(d.TryStartAttempt(now, Lease));
        d.Retry(now);
        Assert.True(d.TryStartAttempt(now, Lease));
    }

    [Fact]
    public void Only_scheduled_deliveries_can_be_cancelled_and_only_failed_ones_retried()
    {
        var d = New();
        Assert.Throws<DomainException>(() => d.Retry(T0));
        d.Cancel(T0);
        Assert.Equal(DeliveryStatus.Cancelled, d.Status);
        Assert.Throws<DomainException>(() => d.Cancel(T0));
        Assert.False(d.TryStartAttempt(T0, Lease));
    }
}
