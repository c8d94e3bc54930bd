using System.Diagnostics;
using System.Net;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Foundation;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace FeedbackHub.Worker.Tests.Delivery;

/// <summary>
/// The ATS reopens an application at the moment its feedback is approved (zero cooling-off: the delivery is due at
/// once), through the real API, with a real worker sending. Whatever the interleaving, a reopening that succeeded means
/// no email for that candidate ever arrives; one that answered 409 (an email was being handed over) means exactly one did.
/// The SMTP sink answers RCPT TO after 800 ms for these candidates, so an email being sent stays Sending long enough for
/// a reopening to meet it. Runs with the SmtpRules collection (it writes the sink's rules).
/// </summary>
[Collection(nameof(SmtpRules))]
public sealed class ReopenRaceTests(DeliveryFixture pipeline, ITestOutputHelper output) : IClassFixture<DeliveryFixture>, IAsyncLifetime
{
    private const int Rounds = 6;
    private const int PerRound = 5;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SmtpRules.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_reopening_racing_an_approval_either_stops_the_email_or_answers_409_and_the_email_arrives_once()
    {
        var clock = Stopwatch.StartNew();
        var arrange = await DeliveryArrange.TenantAsync(pipeline.Api, coolingOff: TimeSpan.Zero);
        var tenant = arrange.Tenant!;
        var recruiter = await tenant.ClientAsync("recruiter");
        var ats = await tenant.ClientAsync("integration");
        var tag = "race" + Guid.NewGuid().ToString("N")[..8];
        var since = DateTime.UtcNow;
        SmtpRules.Set(new { match = tag, stage = "rcpt", delay_ms = 800 });
        var stories = await arrange.SubmittedStoriesAsync(Enumerable.Range(0, Rounds * PerRound).Select(_ => MailSink.NewAddress(tag)).ToList());

        var results = new List<Race>();
        for (var round = 0; round < Rounds; round++)
        {
            // The reopening starts 0 to 450 ms after the approval: before the worker claims the delivery, while it sends, or in between.
            var races = stories.Skip(round * PerRound).Take(PerRound)
                .Select((story, i) => RaceAsync(story, recruiter, ats, TimeSpan.FromMilliseconds(((round * PerRound) + i) * 97 % 450)));
            results.AddRange(await Task.WhenAll(races));
        }

        // Long enough for anything still on its way: every delivery has ended and nothing waits in the outbox.
        await using (var db = pipeline.Api.Database.CreateDbContext())
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (await db.Deliveries.AnyAsync(d => d.TenantId == arrange.TenantId && (d.Status == OutboundStatus.Scheduled || d.Status == OutboundStatus.Sending))
                   || await db.OutboxMessages.AnyAsync(m => m.TenantId == arrange.TenantId))
            {
                Assert.True(DateTime.UtcNow < deadline, "deliveries still pending after 30 s");
                await Task.Delay(200);
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        var mails = DeliveryArrange.MailCounts(tag, since);
        await using var check = pipeline.Api.Database.CreateDbContext();
        var deliveries = await check.Deliveries.AsNoTracking().Where(d => d.TenantId == arrange.TenantId).ToDictionaryAsync(d => d.ApplicationId);
        var applications = await check.Applications.AsNoTracking().Where(a => a.TenantId == arrange.TenantId).ToDictionaryAsync(a => a.Id);
        int stopped = 0, refused = 0, sentBefore = 0;
        foreach (var race in results)
        {
            var received = mails.GetValueOrDefault(race.Story.Email);
            var delivery = deliveries.GetValueOrDefault(race.Story.ApplicationId);
            var application = applications[race.Story.ApplicationId];
            Assert.Equal(HttpStatusCode.OK, race.Approve);
            switch (race.Reopen)
            {
                case HttpStatusCode.OK when received == 0:
                    Assert.True(delivery is null || delivery.Status == OutboundStatus.Cancelled, $"reopened, no email, but the delivery is {delivery?.Status}");
                    Assert.Equal(ApplicationStatus.Active, application.Status);
                    stopped++;
                    break;
                case HttpStatusCode.OK:
                    // Allowed only if the email had been accepted before the reopening was answered (the candidate was still rejected then).
                    Assert.Equal(1, received);
                    Assert.True(delivery?.SentAt <= race.ReopenAnsweredAt, $"an email reached {race.Story.Email} after its application was reopened");
                    sentBefore++;
                    break;
                case HttpStatusCode.Conflict:
                    Assert.Equal("urn:feedbackhub:problem:delivery-in-progress", race.ProblemType);
                    Assert.Equal(1, received);
                    Assert.Equal(OutboundStatus.Sent, delivery?.Status);
                    Assert.Equal(ApplicationStatus.Rejected, application.Status); // the refused reopening changed nothing
                    refused++;
                    break;
                default:
                    Assert.Fail($"The reopening answered {(int)race.Reopen}.");
                    break;
            }
        }

        output.WriteLine($"{results.Count} races in {clock.Elapsed.TotalSeconds:0.0} s: {stopped} reopened before the email (none sent), {refused} answered 409 (sent once), {sentBefore} reopened after it was sent");
        Assert.True(stopped > 0 && refused > 0, $"both outcomes should occur: {stopped} stopped, {refused} refused");
    }

    private static async Task<Race> RaceAsync(DeliveryArrange.Story story, HttpClient recruiter, HttpClient ats, TimeSpan reopenAfter)
    {
        var approve = recruiter.PostAsync($"/v1/feedback/{story.FeedbackId}/approve", null);
        await Task.Delay(reopenAfter);
        var reopen = await ats.PutAsync($"/v1/applications/by-external-id/{story.ExternalId}", HttpAssertions.JsonBody(new
        {
            candidate = new { externalId = story.CandidateExternalId, firstName = "Ada", lastName = "Lovelace", email = story.Email },
            positionTitle = "Backend Engineer",
            status = "active",
        }));
        var answeredAt = DateTimeOffset.UtcNow;
        string? type = null;
        if (reopen.StatusCode == HttpStatusCode.Conflict)
            type = (await reopen.AssertProblemAsync(HttpStatusCode.Conflict)).GetProperty("type").GetString();
        return new Race(story, (await approve).StatusCode, reopen.StatusCode, answeredAt, type);
    }

    private sealed record Race(DeliveryArrange.Story Story, HttpStatusCode Approve, HttpStatusCode Reopen, DateTimeOffset ReopenAnsweredAt, string? ProblemType);
}
