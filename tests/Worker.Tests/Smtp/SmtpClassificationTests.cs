using FeedbackHub.Worker.Smtp;

namespace FeedbackHub.Worker.Tests.Smtp;

/// <summary>The one rule that decides whether an answer suppresses a candidate's address: only this recipient refused for good.</summary>
public sealed class SmtpClassificationTests
{
    [Theory]
    [InlineData(SmtpStage.Data, 250, "2.0.0", SendVerdict.Accepted)]
    [InlineData(SmtpStage.RcptTo, 550, "5.1.1", SendVerdict.RecipientRefused)]
    [InlineData(SmtpStage.RcptTo, 550, "5.1.10", SendVerdict.RecipientRefused)]
    [InlineData(SmtpStage.RcptTo, 552, "5.2.2", SendVerdict.RecipientRefused)]
    [InlineData(SmtpStage.RcptTo, 550, null, SendVerdict.RecipientRefused)]
    [InlineData(SmtpStage.RcptTo, 550, "5.7.1", SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.RcptTo, 554, "5.4.4", SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.RcptTo, 553, "5.1.8", SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.RcptTo, 553, "5.1.7", SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.RcptTo, 530, "5.7.0", SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.Connect, 554, "5.7.1", SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.Connect, 554, null, SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.Ehlo, 550, null, SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.Auth, 535, "5.7.8", SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.MailFrom, 530, "5.7.0", SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.MailFrom, 550, "5.1.1", SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.Data, 552, "5.3.4", SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.Data, 550, "5.1.1", SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.Tls, 0, null, SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.Auth, 0, null, SendVerdict.ServerProblem)]
    [InlineData(SmtpStage.Auth, 454, "4.7.0", SendVerdict.Deferred)]
    [InlineData(SmtpStage.Connect, 0, null, SendVerdict.Deferred)]
    [InlineData(SmtpStage.Connect, 421, "4.3.2", SendVerdict.Deferred)]
    [InlineData(SmtpStage.RcptTo, 450, "4.2.1", SendVerdict.Deferred)]
    [InlineData(SmtpStage.RcptTo, 451, "4.1.8", SendVerdict.Deferred)]
    [InlineData(SmtpStage.Data, 0, null, SendVerdict.Deferred)]
    [InlineData(SmtpStage.Data, 451, "4.3.0", SendVerdict.Deferred)]
    [InlineData(SmtpStage.MailFrom, 250, null, SendVerdict.Deferred)]
    public void Only_a_permanent_refusal_of_this_recipient_suppresses(SmtpStage stage, int code, string? enhanced, SendVerdict expected) =>
        Assert.Equal(expected, SmtpClassification.Classify(stage, code, enhanced));

    [Theory]
    [InlineData("5.1.1 No such user", "5.1.1")]
    [InlineData("  4.3.0 Try later", "4.3.0")]
    [InlineData("5.1.10 Recipient not found", "5.1.10")]
    [InlineData("2.0.0", "2.0.0")]
    [InlineData("No such user", null)]
    [InlineData("5.1 short", null)]
    [InlineData("3.1.1 not a class", null)]
    [InlineData("5.x.1 letters", null)]
    [InlineData("5.1234.1 too long", null)]
    [InlineData("", null)]
    public void The_enhanced_code_is_read_from_the_start_of_the_reply(string text, string? expected) =>
        Assert.Equal(expected, SmtpClassification.EnhancedCode(text));
}
