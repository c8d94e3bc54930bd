using System.Net;
using FeedbackHub.Api.Tests.Requests;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Tests.Web;

/// <summary>The application page's email actions: the same use case and rule as <c>/v1/deliveries/{id}/cancel</c> and <c>/retry</c>.</summary>
public sealed class ApplicationPageEmailTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task A_recruiter_cancels_the_scheduled_feedback_email_from_the_page_and_an_interviewer_cannot()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromDays(1) });
        var (applicationId, feedbackId) = await CandidateRequestTests.SubmittedFeedbackAsync(tenant);
        await CandidateRequestTests.ApproveAsync(tenant, feedbackId);
        var token = CandidateRequestTests.Token(await CandidateRequestTests.RejectAsync(tenant, applicationId));
        (await api.CreateClient().PostJsonAsync($"/v1/public/feedback-requests/{token}", new { })).EnsureSuccessStatusCode();
        Guid deliveryId;
        await using (var db = api.Database.CreateDbContext())
            deliveryId = (await db.Deliveries.SingleAsync(d => d.ApplicationId == applicationId)).Id;
        var page = $"/app/applications/{applicationId}";
        var recruiter = await PeopleSteps.JoinedAsync(tenant, "Rae Recruiter", "recruiter");
        var interviewer = await PeopleSteps.JoinedAsync(tenant, "Ivy Interviewer", "interviewer");

        // An interviewer sees no button, and a forced post is refused (403) with nothing changed.
        using var ivy = await WebAppRoutesTests.SignedInAsync(api, interviewer.Email);
        Assert.DoesNotContain("Cancel the email", await ivy.GetStringAsync(page), StringComparison.Ordinal);
        var forced = await ivy.PostAsync($"{page}?handler=CancelEmail&email={deliveryId}", Form(await WebAppRoutesTests.FormTokenAsync(ivy, "/app/settings")));
        Assert.Equal(HttpStatusCode.Forbidden, forced.StatusCode);
        Assert.Equal(OutboundStatus.Scheduled, await StatusAsync(deliveryId));

        using var rae = await WebAppRoutesTests.SignedInAsync(api, recruiter.Email);
        Assert.Contains("Cancel the email", await rae.GetStringAsync(page), StringComparison.Ordinal);
        var antiforgery = await WebAppRoutesTests.FormTokenAsync(rae, page);
        var cancelled = await rae.PostAsync($"{page}?handler=CancelEmail&email={deliveryId}", Form(antiforgery));
        Assert.Equal(HttpStatusCode.Redirect, cancelled.StatusCode);
        Assert.Equal(page, cancelled.Headers.Location!.OriginalString);
        Assert.Equal(OutboundStatus.Cancelled, await StatusAsync(deliveryId));
        await using (var db = api.Database.CreateDbContext())
            Assert.True(await db.AuditEvents.AnyAsync(e => e.SubjectId == deliveryId && e.Action == "delivery.cancelled" && e.ActorId == recruiter.Id));

        // Twice: the rule's refusal on the page, not a 500; a failed-only retry is refused the same way.
        var again = await rae.PostAsync($"{page}?handler=CancelEmail&email={deliveryId}", Form(antiforgery));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("role=\"alert\"", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var retry = await rae.PostAsync($"{page}?handler=RetryEmail&email={deliveryId}", Form(antiforgery));
        Assert.Equal(HttpStatusCode.Conflict, retry.StatusCode);
        Assert.Contains("Only a failed delivery can be retried", await retry.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static FormUrlEncodedContent Form(string antiforgery) => new(new Dictionary<string, string> { ["__RequestVerificationToken"] = antiforgery });

    private async Task<OutboundStatus> StatusAsync(Guid deliveryId)
    {
        await using var db = api.Database.CreateDbContext();
        return (await db.Deliveries.SingleAsync(d => d.Id == deliveryId)).Status;
    }
}
