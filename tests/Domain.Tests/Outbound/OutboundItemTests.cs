using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Domain.Tests.Outbound;

/// <summary>The shared outbound shape, through a feedback delivery (the other channels' items inherit it unchanged).</summary>
public sealed class OutboundItemTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);
    private static readonly RetryPolicy Policy = new(3, TimeSpan.FromSeconds(10), TimeSpan.FromHours(1), TimeSpan.FromSeconds(25));

    internal static (Delivery.Delivery Delivery, LockedApplication Application, OutboundGuard Guard) New(DateTimeOffset? due = null)
    {
        var application = new LockedApplication(Guid.NewGuid());
        var d = Delivery.Delivery.Schedule(application, Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), due ?? T0, "example.test", T0);
        return (d, application, new OutboundGuard(d.Id, application));
    }

    private static AttemptAnswer Answer(AttemptOutcome outcome, string reply, bool mayHaveBeenAccepted = false) =>
        new(outcome, int.TryParse(reply.AsSpan(0, 3), out var code) ? code : null, reply, MayHaveBeenAccepted: mayHaveBeenAccepted);

    [Fact]
    public void Due_time_is_the_later_of_now_and_rejection_plus_cooling_off()
    {
        Assert.Equal(T0.AddDays(2), Delivery.Delivery.DueTime(T0, TimeSpan.FromDays(2), T0.AddHours(1)));
        Assert.Equal(T0.AddDays(5), Delivery.Delivery.DueTime(T0, TimeSpan.FromDays(2), T0.AddDays(5)));
        Assert.Equal(T0, Delivery.Delivery.DueTime(T0, TimeSpan.Zero, T0));
    }

    [Fact]
    public void Message_id_is_deterministic_per_delivery_and_the_channel_is_recorded()
    {
        var (d, _, _) = New();
        Assert.Equal($"feedback.{d.Id:N}@example.test", d.MessageId);
        Assert.Equal(OutboundChannels.FeedbackEmail, d.Channel);
    }

    [Fact]
    public void An_attempt_is_claimed_once_and_a_second_claim_is_refused_while_the_lease_runs()
    {
        var (d, _, guard) = New();
        Assert.Equal(1, d.TryClaim(guard, T0, Lease));
        Assert.Equal(OutboundStatus.Sending, d.Status);
        Assert.Null(d.TryClaim(guard, T0.AddSeconds(10), Lease));
        Assert.Single(d.Attempts);
    }

    [Fact]
    public void A_claimed_attempt_can_hold_its_lease_from_a_later_time_but_only_while_it_is_in_progress()
    {
        var (d, _, guard) = New();
        d.TryClaim(guard, T0, Lease);
        d.HoldLeaseUntil(guard, T0.AddSeconds(5) + Lease);
        Assert.Equal(T0.AddSeconds(5) + Lease, d.LeaseUntil);
        Assert.Equal(OutboundStatus.Sending, d.Status);
        Assert.Throws<InvalidOperationException>(() => d.HoldLeaseUntil(New().Guard, T0.AddMinutes(9)));

        d.RecordAnswer(guard, Answer(AttemptOutcome.Accepted, "250 OK"), Policy, T0.AddSeconds(6));
        Assert.Throws<InvalidOperationException>(() => d.HoldLeaseUntil(guard, T0.AddMinutes(9)));
        Assert.Null(d.LeaseUntil);
    }

    [Fact]
    public void Sent_items_are_never_claimed_again()
    {
        var (d, _, guard) = New();
        d.TryClaim(guard, T0, Lease);
        Assert.Null(d.RecordAnswer(guard, Answer(AttemptOutcome.Accepted, "250 OK"), Policy, T0.AddSeconds(1)));
        Assert.Null(d.TryClaim(guard, T0.AddHours(1), Lease));
        var attempt = Assert.Single(d.Attempts);
        Assert.Equal((AttemptOutcome.Accepted, 250, "250 OK"), (attempt.Outcome, attempt.Code, attempt.Reply));
        Assert.Equal(T0.AddSeconds(1), d.SentAt);
    }

    [Fact]
    public void Transient_failures_back_off_exponentially_then_fail_when_the_budget_is_spent()
    {
        var (d, _, guard) = New();
        var now = T0;
        var dues = new List<DateTimeOffset?>();
        for (var i = 0; i < 3; i++)
        {
            Assert.NotNull(d.TryClaim(guard, now, Lease));
            var due = d.RecordAnswer(guard, Answer(AttemptOutcome.TransientFailure, "451 busy"), Policy, now);
            dues.Add(due);
            now = due ?? now;
        }

        Assert.Equal([T0.AddSeconds(10), T0.AddSeconds(30), null], dues);
        Assert.Equal(OutboundStatus.Failed, d.Status);
        Assert.Equal("451 busy", d.LastReply);
    }

    [Fact]
    public void Server_problems_wait_with_a_capped_backoff_without_counting_against_the_budget()
    {
        var (d, _, guard) = New();
        var now = T0;
        var dues = new List<TimeSpan?>();
        for (var i = 0; i < 6; i++) // twice the budget
        {
            Assert.NotNull(d.TryClaim(guard, now, Lease));
            var due = d.RecordAnswer(guard, Answer(AttemptOutcome.ServerProblem, "530 5.7.0 Authentication required"), Policy, now);
            dues.Add(due - now);
            now = due!.Value;
        }

        Assert.Equal(OutboundStatus.Scheduled, d.Status);
        Assert.Equal([10, 20, 25, 25, 25, 25], dues.Select(x => x!.Value.TotalSeconds));
        Assert.All(d.Attempts, a => Assert.False(a.CountsAgainstBudget));

        // The server is fixed: the next transient failure is the first one counted, so the whole budget is left.
        d.TryClaim(guard, now, Lease);
        Assert.Equal(now.AddSeconds(10), d.RecordAnswer(guard, Answer(AttemptOutcome.TransientFailure, "451 busy"), Policy, now));
        Assert.False(d.PossibleDuplicate);
    }

    [Fact]
    public void A_permanent_failure_fails_at_once_and_retry_starts_the_budget_over()
    {
        var (d, application, guard) = New();
        d.TryClaim(guard, T0, Lease);
        d.RecordAnswer(guard, Answer(AttemptOutcome.PermanentFailure, "550 no such user"), Policy, T0);
        Assert.Equal(OutboundStatus.Failed, d.Status);
        d.Retry(application, T0.AddMinutes(1));
        Assert.Equal(OutboundStatus.Scheduled, d.Status);
        Assert.Equal(2, d.TryClaim(guard, T0.AddMinutes(1), Lease));
    }

    [Fact]
    public void A_claim_never_takes_over_an_expired_lease_only_an_interruption_does()
    {
        var (d, _, guard) = New();
        d.TryClaim(guard, T0, Lease);
        Assert.Null(d.TryClaim(guard, T0 + Lease + TimeSpan.FromSeconds(1), Lease)); // recovery decides, not a stray message
        Assert.False(d.PossibleDuplicate);

        Assert.True(d.Interrupt(guard, T0 + Lease + TimeSpan.FromSeconds(1)));
        Assert.True(d.PossibleDuplicate);
        Assert.Equal(2, d.TryClaim(guard, T0 + Lease + TimeSpan.FromSeconds(2), Lease));
        Assert.Equal([AttemptOutcome.Interrupted, AttemptOutcome.InProgress], d.Attempts.Select(a => a.Outcome));
    }

    [Fact]
    public void A_claim_released_before_the_hand_over_is_due_again_at_once_uncounted_and_not_a_possible_duplicate()
    {
        var (d, _, guard) = New();
        Assert.NotNull(d.TryClaim(guard, T0, Lease));
        d.ReleaseUnsent(guard, T0.AddSeconds(3));

        Assert.Equal(OutboundStatus.Scheduled, d.Status);
        Assert.Equal(T0.AddSeconds(3), d.DueAt);
        Assert.Null(d.LeaseUntil);
        Assert.False(d.PossibleDuplicate);
        var attempt = Assert.Single(d.Attempts);
        Assert.Equal(AttemptOutcome.NotSent, attempt.Outcome);
        Assert.False(attempt.CountsAgainstBudget);
        Assert.NotNull(d.TryClaim(guard, T0.AddSeconds(4), Lease)); // claimable again at once, without waiting for the lease
    }

    [Fact]
    public void Releasing_an_item_that_is_not_sending_changes_nothing()
    {
        var (d, _, guard) = New();
        d.TryClaim(guard, T0, Lease);
        d.RecordAnswer(guard, Answer(AttemptOutcome.Accepted, "250 OK"), Policy, T0.AddSeconds(1));
        d.ReleaseUnsent(guard, T0.AddSeconds(2));
        Assert.Equal(OutboundStatus.Sent, d.Status);
        Assert.Equal(AttemptOutcome.Accepted, Assert.Single(d.Attempts).Outcome);
    }

    [Fact]
    public void A_connection_lost_after_the_hand_over_is_retried_and_flagged_as_a_possible_duplicate()
    {
        var (d, _, guard) = New();
        d.TryClaim(guard, T0, Lease);
        d.RecordAnswer(guard, Answer(AttemptOutcome.TransientFailure, "no answer after the hand-over", mayHaveBeenAccepted: true), Policy, T0);
        Assert.Equal(OutboundStatus.Scheduled, d.Status);
        Assert.True(d.PossibleDuplicate);

        var (refused, _, refusedGuard) = New();
        refused.TryClaim(refusedGuard, T0, Lease);
        refused.RecordAnswer(refusedGuard, Answer(AttemptOutcome.TransientFailure, "451 busy"), Policy, T0);
        Assert.False(refused.PossibleDuplicate); // a 4xx answer means the server did not take it
    }

    [Fact]
    public void Only_a_scheduled_item_is_requeued_after_a_lost_message_and_its_due_time_moves_to_now()
    {
        var (d, _, guard) = New();
        Assert.True(d.RequeueLost(guard, T0.AddMinutes(20)));
        Assert.Equal(T0.AddMinutes(20), d.DueAt);
        Assert.Empty(d.Attempts);

        d.TryClaim(guard, T0.AddMinutes(21), Lease);
        Assert.False(d.RequeueLost(guard, T0.AddMinutes(40))); // sending: recovery's lease check handles it, not this
        d.RecordAnswer(guard, Answer(AttemptOutcome.Accepted, "250 OK"), Policy, T0.AddMinutes(21));
        Assert.False(d.RequeueLost(guard, T0.AddMinutes(40)));
        Assert.Equal(OutboundStatus.Sent, d.Status);
    }

    [Fact]
    public void Repeated_interruptions_fail_the_item_instead_of_looping()
    {
        var (d, application, guard) = New();
        var now = T0;
        for (var i = 0; i < OutboundItem.MaxInterruptions; i++)
        {
            Assert.NotNull(d.TryClaim(guard, now, Lease));
            now += Lease + TimeSpan.FromSeconds(1);
            d.Interrupt(guard, now);
        }

        Assert.Equal(OutboundStatus.Failed, d.Status);
        Assert.Null(d.TryClaim(guard, now, Lease));
        d.Retry(application, now);
        Assert.NotNull(d.TryClaim(guard, now, Lease));
    }

    [Fact]
    public void Only_scheduled_deliveries_can_be_cancelled_and_only_failed_ones_retried()
    {
        var (d, application, guard) = New();
        Assert.Equal("delivery-not-failed", Assert.Throws<DomainException>(() => d.Retry(application, T0)).Code);
        d.Cancel(application, T0);
        Assert.Equal(OutboundStatus.Cancelled, d.Status);
        Assert.Equal("delivery-not-scheduled", Assert.Throws<DomainException>(() => d.Cancel(application, T0)).Code);
        Assert.Null(d.TryClaim(guard, T0, Lease));
    }

    [Fact]
    public void A_change_without_the_items_locks_is_refused()
    {
        var (d, _, _) = New();
        var otherApplication = new LockedApplication(Guid.NewGuid());
        Assert.Throws<InvalidOperationException>(() => d.Cancel(otherApplication, T0));
        Assert.Throws<InvalidOperationException>(() => d.TryClaim(new OutboundGuard(d.Id, null), T0, Lease)); // its application's lock is missing
        Assert.Throws<InvalidOperationException>(() => d.TryClaim(new OutboundGuard(d.Id, otherApplication), T0, Lease));
        Assert.Throws<InvalidOperationException>(() => d.TryClaim(new OutboundGuard(Guid.NewGuid(), new LockedApplication(d.ApplicationId)), T0, Lease));
        Assert.Equal(OutboundStatus.Scheduled, d.Status);
    }

    [Fact]
    public void Public_statuses_are_mapped_per_resource()
    {
        Assert.Equal(
            ["Queued", "Queued", "Sent", "Failed", "Cancelled"],
            Enum.GetValues<OutboundStatus>().Select(s => PublicStatuses.OfInvitation(s).ToString()));
        Assert.Equal(
            ["Pending", "Pending", "Delivered", "Failed", "Failed"],
            Enum.GetValues<OutboundStatus>().Select(s => PublicStatuses.OfWebhook(s).ToString()));
        Assert.All(Enum.GetValues<DeliveryStatus>(), s => Assert.Equal(s, PublicStatuses.OfDelivery(PublicStatuses.FromDelivery(s))));
    }
}
