using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Rendering;
using FeedbackHub.Domain.Templates;

namespace FeedbackHub.Domain.Tests.Model;

public sealed class FeedbackEmailRendererTests
{
    private static readonly MergeValues Values = new("Ada", "Engineer", "Acme", DateTimeOffset.UnixEpoch);

    private static readonly TemplateContent Content = new(
        "Feedback", "Dear {{candidate.first_name}},", "Kind regards",
        [
            new Criterion("design", "Design", [new RatingBand("good", "Good", "Clear <design>.", []), new RatingBand("weak", "Weak", "Gaps & holes.", [])], new CommentPolicy(false, 0)),
            new Criterion("tests", "Tests", [new RatingBand("good", "Good", "Thorough.", []), new RatingBand("weak", "Weak", "Few tests.", [])], new CommentPolicy(false, 0)),
        ]);

    private static readonly IReadOnlyList<Answer> Answers = [new("design", "weak"), new("tests", "good")];

    [Fact]
    public void Without_deciding_criteria_or_text_there_is_no_decision_section()
    {
        var email = FeedbackEmailRenderer.Render(Content.Validated(), Answers, Values, EmailFooter.For("Acme", TenantSettings.Default));
        Assert.DoesNotContain(FeedbackEmailRenderer.DecisionHeading, email.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(FeedbackEmailRenderer.DecisionHeading, email.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Deciding_criteria_are_named_with_the_band_given_after_the_decision_text_and_encoded_in_html()
    {
        var content = (Content with { DecidingCriteria = ["design"], DecisionText = "For {{position.title}} & co:" }).Validated();
        var email = FeedbackEmailRenderer.Render(content, Answers, Values, EmailFooter.For("Acme", TenantSettings.Default));
        Assert.Contains("What weighed most in our decision\nFor Engineer & co:\n- Design: Gaps & holes.\n", email.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("- Tests:", email.Text, StringComparison.Ordinal);
        Assert.Contains("<p style=\"margin:0 0 8px\">For Engineer &amp; co:</p><ul style=\"margin:0 0 8px;padding-left:20px\"><li><strong>Design:</strong> Gaps &amp; holes.</li></ul>", email.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Footer_without_reply_to_names_the_sender_address_and_the_retention()
    {
        var footer = EmailFooter.For("Acme", TenantSettings.Default with { SenderAddress = "jobs@acme.example", RetentionMonths = 3 });
        Assert.Equal("Questions about this feedback? Write to jobs@acme.example.", footer.Contact);
        Assert.Contains("Acme keeps your application data for 3 months", footer.Privacy, StringComparison.Ordinal);
        var email = FeedbackEmailRenderer.Render(Content.Validated(), Answers, Values, footer);
        Assert.EndsWith($"Kind regards\n\n{footer.Contact}\n\n{footer.Privacy}\n", email.Text, StringComparison.Ordinal);
    }
}
