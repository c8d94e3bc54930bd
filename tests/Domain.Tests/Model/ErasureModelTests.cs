using FeedbackHub.Domain.Model;

namespace FeedbackHub.Domain.Tests.Model;

public sealed class ErasureModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("550 5.1.1 <ada@example.test>: user unknown", "550 (reply text erased with the candidate's personal data)")]
    [InlineData("Not sent: the address is suppressed", "(reply text erased with the candidate's personal data)")]
    [InlineData("42", "(reply text erased with the candidate's personal data)")]
    [InlineData("4", "(reply text erased with the candidate's personal data)")]
    [InlineData("", "(reply text erased with the candidate's personal data)")]
    public void An_erased_reply_keeps_only_its_smtp_code(string reply, string erased) =>
        Assert.Equal(erased, FeedbackHub.Domain.Outbound.OutboundItem.ErasedReply(reply));

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
