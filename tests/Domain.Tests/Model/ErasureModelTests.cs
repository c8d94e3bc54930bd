using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;

namespace FeedbackHub.Domain.Tests.Model;

public sealed class ErasureModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Erasing_a_candidate_clears_every_personal_field_keeps_the_ids_and_later_upserts_change_nothing()
    {
        var candidate = Candidate.Create(Guid.NewGuid(), new CandidateDetails("c-1", "Ada", "Lovelace", "ada@example.test", "en-GB"), T0);
        Assert.True(candidate.Erase(T0.AddDays(1)));
        Assert.Equal(("", null, "", null), (candidate.FirstName, candidate.LastName, candidate.Email, candidate.Locale));
        Assert.Equal("c-1", candidate.ExternalId);
        Assert.Equal(T0.AddDays(1), candidate.ErasedAt);

        Assert.False(candidate.Erase(T0.AddDays(2)));
        Assert.Equal(T0.AddDays(1), candidate.ErasedAt);
        Assert.Empty(candidate.ApplyUpsert(new CandidateDetails("c-1", "Ada", "Lovelace", "ada@example.test", null), T0.AddDays(3)));
        Assert.Equal("", candidate.FirstName);
    }

    [Theory]
    [InlineData("550 5.1.1 <ada@example.test>: user unknown", "550 (reply text erased with the candidate's personal data)")]
    [InlineData("Not sent: the address is suppressed", "(reply text erased with the candidate's personal data)")]
    [InlineData("42", "(reply text erased with the candidate's personal data)")]
    public void An_erased_reply_keeps_only_its_smtp_code(string reply, string erased) =>
        Assert.Equal(erased, FeedbackHub.Domain.Outbound.OutboundItem.ErasedReply(reply));

    [Fact]
    public void Erasing_a_deliverys_replies_scrubs_every_attempt_and_is_idempotent()
    {
        var (delivery, application, guard) = Outbound.OutboundItemTests.New();
        Assert.NotNull(delivery.TryClaim(guard, T0, TimeSpan.FromMinutes(2)));
        delivery.RecordAnswer(guard, new FeedbackHub.Domain.Outbound.AttemptAnswer(FeedbackHub.Domain.Outbound.AttemptOutcome.TransientFailure, 451, "451 <ada@example.test> busy"),
            new FeedbackHub.Domain.Outbound.RetryPolicy(6, TimeSpan.FromMinutes(1), TimeSpan.FromHours(1), TimeSpan.FromMinutes(1)), T0);
        Assert.Equal(2, delivery.EraseReplies(application, T0));
        Assert.DoesNotContain("ada@", delivery.LastReply, StringComparison.Ordinal);
        Assert.All(delivery.Attempts, a => Assert.StartsWith("451 (reply text erased", a.Reply, StringComparison.Ordinal));
        Assert.Equal(0, delivery.EraseReplies(application, T0));
    }

    [Fact]
    public void A_legal_hold_records_who_and_when_takes_a_short_reason_and_is_released()
    {
        var application = Application.Create(Guid.NewGuid(), "a-1", Guid.NewGuid(), new ApplicationDetails("Engineer", null, null), T0);
        var by = Guid.NewGuid();
        Assert.True(application.SetLegalHold(true, " Case 12 ", by, T0.AddHours(1)));
        Assert.Equal((true, T0.AddHours(1), by, "Case 12"), (application.LegalHold, application.LegalHoldSetAt, application.LegalHoldSetById, application.LegalHoldReason));
        Assert.Equal(T0, application.UpdatedAt); // a hold is not activity

        Assert.False(application.SetLegalHold(true, "Case 13", Guid.NewGuid(), T0.AddHours(2)));
        Assert.Equal(("Case 13", by), (application.LegalHoldReason, application.LegalHoldSetById));
        var error = Assert.Throws<DomainException>(() => application.SetLegalHold(true, new string('x', 201), by, T0));
        Assert.Equal("validation", error.Code);

        Assert.True(application.SetLegalHold(false, null, by, T0.AddHours(3)));
        Assert.Equal((false, null, null, null), (application.LegalHold, application.LegalHoldSetAt, application.LegalHoldSetById, application.LegalHoldReason));
        Assert.False(application.SetLegalHold(false, null, by, T0.AddHours(4)));
    }
}
