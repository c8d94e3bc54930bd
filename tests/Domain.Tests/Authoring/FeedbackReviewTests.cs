using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Templates;

namespace FeedbackHub.Domain.Tests.Authoring;

/// <summary>What a request for changes keeps of the version it sends back, and what erasure leaves of it.</summary>
public sealed class FeedbackReviewTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly Actor Author = new(Guid.NewGuid(), "Ada Author");
    private static readonly Actor Reviewer = new(Guid.NewGuid(), "Rae Reviewer");

    private static readonly TemplateContent Content = new(
        "Your application", "Hello {{candidate.first_name}},", "Kind regards",
        [
            new Criterion("problem-solving", "Problem solving",
                [new RatingBand("developing", "Developing", "Still developing.", ["Try talking through alternatives."]),
                 new RatingBand("meets", "Meets", "Meets the bar.", ["You reasoned clearly."])],
                new CommentPolicy(true, 2000)),
        ]);

    [Fact]
    public void Requesting_changes_keeps_the_reviewed_answers_version_comment_and_reviewer_until_the_next_request()
    {
        var feedback = Submitted("You solved the exercise quickly.");
        Assert.Null(feedback.LastChangeRequest);
        var reviewed = feedback.Version;

        feedback.RequestChanges(Reviewer, " Say how they tested it. ", T0.AddHours(1));
        var request = feedback.LastChangeRequest;
        Assert.NotNull(request);
        Assert.Equal((reviewed, "Say how they tested it.", Reviewer.Id, "Rae Reviewer", T0.AddHours(1)), (request.Version, request.Comment, request.ById, request.ByName, request.At));
        Assert.Equal("You solved the exercise quickly.", Assert.Single(request.Answers).Comment);

        // The author's edit and resubmission leave the kept version as it was; the comparison shows the edit.
        feedback.Save([new Answer("problem-solving", "meets", [], "You solved the exercise and tested the edge cases.")], Content, Author, T0.AddHours(2), _ => []);
        feedback.Submit([], Content, Author, T0.AddHours(2), autoApproveTemplateOnly: false);
        Assert.Null(feedback.ReviewComment);
        Assert.Same(request, feedback.LastChangeRequest);
        var change = Assert.Single(AnswerChanges.Compare(request.Answers, feedback.Answers));
        Assert.Contains(new TextSegment(SegmentKind.Removed, "quickly."), change.Comment!);

        feedback.RequestChanges(Reviewer, "Once more.", T0.AddHours(3));
        Assert.Equal(("Once more.", "You solved the exercise and tested the edge cases."), (feedback.LastChangeRequest!.Comment, feedback.LastChangeRequest.Answers[0].Comment));
    }

    private static Feedback Submitted(string comment)
    {
        var template = Template.Create(Guid.NewGuid(), "Engineering", "en", Content, Author, T0);
        template.Latest.Submit(T0);
        template.Publish(1, Reviewer, T0);
        var feedback = Feedback.Start(template.TenantId, Guid.NewGuid(), template.Latest, Author, T0);
        feedback.Save([new Answer("problem-solving", "developing", ["Try talking through alternatives."], comment)], Content, Author, T0, _ => []);
        feedback.Submit([], Content, Author, T0, autoApproveTemplateOnly: false);
        return feedback;
    }
}
