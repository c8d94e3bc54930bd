using System.Net;
using System.Text.RegularExpressions;
using FeedbackHub.Api.Features.People;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.People;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Tests.Foundation;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Worker.Tests.People;

/// <summary>Emails to people through the outbound core: the invitation's link works once; notifications respect the person's choice.</summary>
public sealed class PersonEmailPipelineTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    [Fact]
    public async Task The_invitation_arrives_with_a_link_whose_token_sets_the_password_once()
    {
        var tenant = await pipeline.Api.CreateTenantAsync("Welcome Ltd");
        var email = MailSink.NewAddress("invitee");
        var person = await (await tenant.Admin.PostJsonAsync("/v1/people", new { email, displayName = "Ivy <b>Interviewer</b>", roles = new[] { "interviewer" } }))
            .ReadAsync<PersonResponse>(HttpStatusCode.Created);

        var mail = Assert.Single(await WaitForAsync(email));
        Assert.Equal("You are invited to FeedbackHub for Welcome Ltd", mail.Subject);
        Assert.Contains("Hello Ivy <b>Interviewer</b>,", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains("Ivy &lt;b&gt;Interviewer&lt;/b&gt;", mail.HtmlBody, StringComparison.Ordinal); // encoded in HTML
        var link = Regex.Match(mail.TextBody, @"/app/account/set-password\?person=(?<id>[0-9a-f-]+)&token=(?<token>\S+)");
        Assert.True(link.Success, mail.TextBody);
        Assert.Equal(person.Id.ToString(), link.Groups["id"].Value);
        var token = Uri.UnescapeDataString(link.Groups["token"].Value);

        await using (var scope = pipeline.Api.Services.CreateAsyncScope())
        {
            var people = scope.ServiceProvider.GetRequiredService<PeopleDirectory>();
            var (joined, result) = await people.SetPasswordAsync(person.Id, token, "a long and memorable passphrase", CancellationToken.None);
            Assert.True(result.Succeeded, string.Join(" ", result.Errors.Select(e => e.Code)));
            Assert.True(joined!.HasJoined);
        }

        await using (var scope = pipeline.Api.Services.CreateAsyncScope())
        {
            var people = scope.ServiceProvider.GetRequiredService<PeopleDirectory>();
            var (again, result) = await people.SetPasswordAsync(person.Id, token, "another long passphrase", CancellationToken.None);
            Assert.Null(again);
            Assert.Contains(result.Errors, e => e.Code == "InvalidToken");
        }

        await using var db = pipeline.Api.Database.CreateDbContext();
        Assert.Equal(["person.invited", "person-email.sent", "person.joined"],
            await db.AuditEvents.Where(e => e.TenantId == tenant.Id && e.Action.StartsWith("person")).OrderBy(e => e.Position).Select(e => e.Action).ToListAsync());
    }

    [Fact]
    public async Task A_person_who_turned_a_notification_off_is_not_emailed_and_the_email_is_cancelled()
    {
        var tenant = await pipeline.Api.CreateTenantAsync();
        var quiet = await PeopleSteps.JoinedAsync(tenant, "Quiet Recruiter", "recruiter");
        var keen = await PeopleSteps.JoinedAsync(tenant, "Keen Recruiter", "recruiter");
        Guid quietEmail, keenEmail;
        await using (var db = pipeline.Api.Database.CreateDbContext())
        {
            var people = await db.People.Where(p => p.TenantId == tenant.Id).ToListAsync();
            people.Single(p => p.Id == quiet.Id).SetNotifications([]);
            var applicationId = await ApplicationSteps.ApplicationAsync(tenant);
            var a = PersonEmail.Queue(people.Single(p => p.Id == quiet.Id), PersonEmailKind.AwaitingApproval, applicationId, DateTimeOffset.UtcNow);
            var b = PersonEmail.Queue(people.Single(p => p.Id == keen.Id), PersonEmailKind.AwaitingApproval, applicationId, DateTimeOffset.UtcNow);
            db.PersonEmails.AddRange(a, b);
            db.OutboxMessages.Add(Domain.Outbox.OutboxMessage.Create(new Messages.SendPersonEmail(a.Id, tenant.Id), tenant.Id, DateTimeOffset.UtcNow));
            db.OutboxMessages.Add(Domain.Outbox.OutboxMessage.Create(new Messages.SendPersonEmail(b.Id, tenant.Id), tenant.Id, DateTimeOffset.UtcNow));
            await db.SaveChangesAsync();
            (quietEmail, keenEmail) = (a.Id, b.Id);
        }

        var mail = Assert.Single(await WaitForAsync(keen.Email));
        Assert.Contains("waits for your approval", mail.Subject, StringComparison.Ordinal);
        Assert.Matches(@"/app/applications/[0-9a-f-]{36}", mail.TextBody);
        await OutboundSteps.WaitSentAsync(pipeline.Api.Database, keenEmail, TimeSpan.FromSeconds(30));
        await using var check = pipeline.Api.Database.CreateDbContext();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await check.PersonEmails.AsNoTracking().SingleAsync(e => e.Id == quietEmail)).Status != OutboundStatus.Cancelled && DateTime.UtcNow < deadline)
            await Task.Delay(200);
        Assert.Equal(OutboundStatus.Cancelled, (await check.PersonEmails.AsNoTracking().SingleAsync(e => e.Id == quietEmail)).Status);
        Assert.Empty(MailSink.For(quiet.Email));
    }

    /// <summary>The worker's warnings and errors in the failure message when the email does not come.</summary>
    private async Task<IReadOnlyList<CapturedMail>> WaitForAsync(string address)
    {
        try
        {
            return await MailSink.WaitForAsync(address);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\nWorker log:\n" + string.Join("\n", pipeline.Worker.Logs.Lines.TakeLast(10)), e);
        }
    }
}
