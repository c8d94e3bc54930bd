using System.Net;
using System.Text.Json;
using FeedbackHub.Api.Features.Candidates;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Candidates;

public sealed class CandidateExportTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Export_holds_the_whole_story_as_one_attachment_and_is_audited()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromDays(1), InvitationsEnabled = true });
        var story = await CandidateStory.ArrangeAsync(api, tenant);
        var legal = await tenant.ClientAsync("legal");

        var response = await legal.GetAsync($"/v1/candidates/{story.CandidateId}/export");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal($"candidate-{story.CandidateId}.json", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        var raw = await response.Content.ReadAsStringAsync();
        var export = JsonSerializer.Deserialize<CandidateExport>(raw, HttpAssertions.Json)!;

        Assert.Equal(1, export.FormatVersion);
        Assert.Equal((story.FirstName, story.LastName, story.Email, "en-GB"), (export.Candidate.FirstName, export.Candidate.LastName, export.Candidate.Email, export.Candidate.Locale));
        var application = Assert.Single(export.Applications);
        Assert.Equal(story.ApplicationId, application.Id);
        Assert.False(application.LegalHold.OnHold);
        Assert.Equal("rejected", application.Status);

        var feedback = application.Feedback!;
        Assert.Equal("approved", feedback.Status);
        Assert.Contains(feedback.Answers, a => a.Comment?.Contains(story.FirstName, StringComparison.Ordinal) == true);
        Assert.NotNull(feedback.Approval);
        Assert.Equal(
            ["feedback.started", "feedback.saved", "feedback.submitted", "feedback.changes-requested", "feedback.saved", "feedback.submitted", "feedback.approved"],
            feedback.History.Select(h => h.Action));
        var sentBack = feedback.LastChangeRequest!; // the version the reviewer sent back and their comment are the candidate's data too
        Assert.Contains(story.FirstName, sentBack.Comment, StringComparison.Ordinal);
        Assert.Contains(sentBack.Answers, a => a.Comment?.Contains(story.FirstName, StringComparison.Ordinal) == true);

        Assert.Contains(story.Email, application.Request!.Note, StringComparison.Ordinal);
        var link = Assert.Single(application.Links);
        Assert.Null(link.RevokedAt);
        Assert.DoesNotContain(story.Token, raw, StringComparison.Ordinal);

        var delivery = application.Delivery!;
        Assert.Equal("scheduled", delivery.Status);
        var attempt = Assert.Single(delivery.Attempts);
        Assert.Equal("transientFailure", attempt.Outcome);
        Assert.Contains(story.Email, attempt.Reply, StringComparison.Ordinal);
        Assert.Equal("queued", Assert.Single(application.Invitations).Status);

        var actions = export.AuditEvents.Select(e => e.Action).ToList();
        foreach (var action in new[] { "candidate.created", "application.created", "feedback.approved", "application.rejected", "feedback.requested", "delivery.scheduled", "invitation.queued" })
            Assert.Contains(action, actions);
        var sealedInOrder = export.AuditEvents.Where(e => e.Sequence is not null).Select(e => e.Sequence).ToList();
        Assert.Equal(sealedInOrder.Order(), sealedInOrder); // in the log's order

        // Audited; the export of an erased candidate holds no personal data any more.
        var second = await (await tenant.Admin.GetAsync($"/v1/candidates/{story.CandidateId}/export")).ReadAsync<CandidateExport>();
        Assert.Contains(second.AuditEvents, e => e.Action == "candidate.exported");
        (await (await tenant.ClientAsync("integration")).DeleteAsync($"/v1/candidates/{story.CandidateId}")).EnsureSuccessStatusCode();
        var afterErasure = await (await tenant.ClientAsync("integration")).GetAsync($"/v1/candidates/{story.CandidateId}/export");
        var erasedRaw = await afterErasure.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, afterErasure.StatusCode);
        foreach (var secret in story.Secrets)
            Assert.DoesNotContain(secret, erasedRaw, StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(JsonSerializer.Deserialize<CandidateExport>(erasedRaw, HttpAssertions.Json)!.Candidate.ErasedAt);
    }

    [Fact]
    public async Task Export_is_for_admin_integration_and_legal_of_the_same_tenant_only()
    {
        var tenant = await api.CreateTenantAsync();
        var applicationId = await Authoring.FeedbackWorkflowTests.ApplicationAsync(tenant);
        Guid candidateId;
        await using (var db = api.Database.CreateDbContext())
            candidateId = db.Applications.Single(a => a.Id == applicationId).CandidateId;

        foreach (var role in new[] { "recruiter", "interviewer" })
            await (await (await tenant.ClientAsync(role)).GetAsync($"/v1/candidates/{candidateId}/export")).AssertProblemAsync(HttpStatusCode.Forbidden);
        foreach (var role in new[] { "admin", "integration", "legal" })
            Assert.Equal(HttpStatusCode.OK, (await (await tenant.ClientAsync(role)).GetAsync($"/v1/candidates/{candidateId}/export")).StatusCode);
        var other = await api.CreateTenantAsync();
        await (await (await other.ClientAsync("legal")).GetAsync($"/v1/candidates/{candidateId}/export")).AssertProblemAsync(HttpStatusCode.NotFound);
    }
}
