using System.Net;
using System.Text;
using System.Text.Json;
using FeedbackHub.Api.Features.Webhooks;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Messages;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Tests.Webhooks;

public sealed class WebhookSubscriptionTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    /// <summary>A public IP literal: allowed for a normal tenant and needs no DNS (the test machine has no outside network).</summary>
    private const string PublicUrl = "https://93.184.216.34/hooks/feedbackhub";

    private static object Body(string url, params string[] events) => new { url, events = events.Length == 0 ? ["delivery.sent"] : events };

    [Theory]
    [InlineData("https://127.0.0.1/hook", "webhook-url-refused")]
    [InlineData("https://10.1.2.3/hook", "webhook-url-refused")]
    [InlineData("https://192.168.0.10:8443/hook", "webhook-url-refused")]
    [InlineData("https://169.254.169.254/latest/meta-data/", "webhook-url-refused")]
    [InlineData("https://[::1]/hook", "webhook-url-refused")]
    [InlineData("https://[::ffff:127.0.0.1]/hook", "webhook-url-refused")]
    [InlineData("https://[fd00:ec2::254]/hook", "webhook-url-refused")]
    [InlineData("https://localhost/hook", "webhook-url-refused")]
    [InlineData("https://metadata.google.internal/computeMetadata/v1/", "webhook-url-refused")]
    [InlineData("http://93.184.216.34/hook", "validation")]
    [InlineData("https://user:pw@93.184.216.34/hook", "validation")]
    [InlineData("https://no-such-host.invalid/hook", "webhook-url-unresolvable")]
    public async Task Private_and_malformed_urls_answer_422_for_a_normal_tenant(string url, string type)
    {
        var tenant = await api.CreateTenantAsync();
        var problem = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", Body(url))).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, type);
        Assert.True(problem.GetProperty("errors").TryGetProperty("url", out _));
        await using var db = api.Database.CreateDbContext();
        Assert.False(await db.WebhookSubscriptions.AnyAsync(s => s.TenantId == tenant.Id));
    }

    [Fact]
    public async Task A_name_that_resolves_to_loopback_is_refused_with_the_reason()
    {
        var tenant = await api.CreateTenantAsync();
        var host = Dns.GetHostName(); // resolves to a loopback address on these machines (/etc/hosts)
        Assert.Contains((await Dns.GetHostAddressesAsync(host)), IPAddress.IsLoopback);
        var problem = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", Body($"https://{host}/hook")))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "webhook-url-refused");
        Assert.Contains("loopback", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_development_tenant_may_subscribe_loopback_and_http()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { AllowPrivateWebhookTargets = true });
        var created = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", Body("http://localhost:9/hook"))).ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        Assert.Equal("http://localhost:9/hook", created.Url);
    }

    [Fact]
    public async Task The_secret_is_shown_once_and_stored_only_sealed()
    {
        var tenant = await api.CreateTenantAsync();
        var response = await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = PublicUrl, events = new[] { "feedback.requested", "delivery.sent" }, description = "ATS prod" });
        var created = await response.ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        Assert.Equal($"/v1/webhooks/{created.Id}", response.Headers.Location?.OriginalString);
        Assert.Matches("^whsec_[A-Za-z0-9_-]{43}$", created.Secret);
        Assert.Equal(["feedback.requested", "delivery.sent"], created.Events);
        Assert.True(created.Enabled);

        var get = await (await tenant.Admin.GetAsync($"/v1/webhooks/{created.Id}")).Content.ReadAsStringAsync();
        var list = await (await tenant.Admin.GetAsync("/v1/webhooks")).Content.ReadAsStringAsync();
        foreach (var body in new[] { get, list })
        {
            Assert.Contains(created.Id.ToString(), body, StringComparison.Ordinal);
            Assert.DoesNotContain(created.Secret, body, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", body, StringComparison.OrdinalIgnoreCase);
        }

        await using var db = api.Database.CreateDbContext();
        var stored = await db.WebhookSubscriptions.AsNoTracking().SingleAsync(s => s.Id == created.Id);
        Assert.DoesNotContain(created.Secret, Encoding.UTF8.GetString(stored.SealedSecret), StringComparison.Ordinal);
        Assert.DoesNotContain(created.Secret[6..], Convert.ToBase64String(stored.SealedSecret), StringComparison.Ordinal);
        Assert.DoesNotContain(created.Secret, await api.Database.DumpAsync(), StringComparison.Ordinal);
        Assert.Equal(created.Secret, stored.OpenSecret(WebhookSecretBox.FromConfiguration(TestServices.WebhookSecretKey)));

        // The audit trail records the creation without the secret or the URL.
        var audit = await db.AuditEvents.AsNoTracking().Where(e => e.TenantId == tenant.Id && e.Action == "webhook.created").SingleAsync();
        Assert.DoesNotContain(created.Secret, audit.Data, StringComparison.Ordinal);
        Assert.DoesNotContain("93.184", audit.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotating_the_secret_shows_a_new_one_once_and_the_old_one_stops_opening()
    {
        var tenant = await api.CreateTenantAsync();
        var created = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", Body(PublicUrl))).ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        var rotated = await (await tenant.Admin.PostAsync($"/v1/webhooks/{created.Id}/rotate-secret", null)).ReadAsync<WebhookSecretResponse>();
        Assert.NotEqual(created.Secret, rotated.Secret);
        await using var db = api.Database.CreateDbContext();
        var stored = await db.WebhookSubscriptions.AsNoTracking().SingleAsync(s => s.Id == created.Id);
        Assert.Equal(rotated.Secret, stored.OpenSecret(WebhookSecretBox.FromConfiguration(TestServices.WebhookSecretKey)));
        Assert.True(await db.AuditEvents.AnyAsync(e => e.TenantId == tenant.Id && e.Action == "webhook.secret-rotated" && e.SubjectId == created.Id));
    }

    [Fact]
    public async Task Another_tenants_subscription_answers_404_everywhere()
    {
        var owner = await api.CreateTenantAsync();
        var other = await api.CreateTenantAsync();
        var created = await (await owner.Admin.PostJsonAsync("/v1/webhooks", Body(PublicUrl))).ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        var delivery = Guid.CreateVersion7();
        var client = other.Admin;
        await (await client.GetAsync($"/v1/webhooks/{created.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await client.PatchAsync($"/v1/webhooks/{created.Id}", HttpAssertions.JsonBody(new { enabled = false }))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await client.PostAsync($"/v1/webhooks/{created.Id}/rotate-secret", null)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await client.GetAsync($"/v1/webhooks/{created.Id}/deliveries")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await client.GetAsync($"/v1/webhooks/{created.Id}/deliveries/{delivery}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await client.PostAsync($"/v1/webhooks/{created.Id}/deliveries/{delivery}/redeliver", null)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await client.DeleteAsync($"/v1/webhooks/{created.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        var list = await (await client.GetAsync("/v1/webhooks")).ReadAsync<Page<WebhookResponse>>();
        Assert.Empty(list.Items);
        Assert.Equal(HttpStatusCode.OK, (await owner.Admin.GetAsync($"/v1/webhooks/{created.Id}")).StatusCode);
    }

    [Fact]
    public async Task Bad_fields_are_listed_together()
    {
        var tenant = await api.CreateTenantAsync();
        var problem = await (await tenant.Admin.PostJsonAsync("/v1/webhooks",
                new { url = PublicUrl, events = new[] { "delivery.sent", "delivery.exploded" }, description = new string('d', 201) }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("events[1]", out _));
        Assert.True(errors.TryGetProperty("description", out _));

        problem = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = PublicUrl, events = Array.Empty<string>() }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty("events", out _));

        await (await tenant.Admin.PostAsync("/v1/webhooks", HttpAssertions.JsonBody(new { events = new[] { "delivery.sent" } })))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await tenant.Admin.PostAsync("/v1/webhooks", new StringContent("{\"url\":", Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await tenant.Admin.GetAsync("/v1/webhooks?limit=0")).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
    }

    [Fact]
    public async Task Patch_changes_only_what_is_given_rechecks_the_url_and_is_audited()
    {
        var tenant = await api.CreateTenantAsync();
        var created = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = PublicUrl, events = new[] { "delivery.sent" }, description = "first" }))
            .ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);

        await (await tenant.Admin.PatchAsync($"/v1/webhooks/{created.Id}", HttpAssertions.JsonBody(new { url = "https://10.0.0.8/hook" })))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "webhook-url-refused");
        await (await tenant.Admin.PatchAsync($"/v1/webhooks/{created.Id}", HttpAssertions.JsonBody(new { events = new[] { "nope" } })))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");

        var updated = await (await tenant.Admin.PatchAsync($"/v1/webhooks/{created.Id}",
            HttpAssertions.JsonBody(new { enabled = false, events = new[] { "delivery.failed", "delivery.cancelled" } }))).ReadAsync<WebhookResponse>();
        Assert.False(updated.Enabled);
        Assert.Equal(["delivery.failed", "delivery.cancelled"], updated.Events);
        Assert.Equal("first", updated.Description);
        Assert.Equal(PublicUrl, updated.Url);

        updated = await (await tenant.Admin.PatchAsync($"/v1/webhooks/{created.Id}", HttpAssertions.JsonBody(new { description = "" }))).ReadAsync<WebhookResponse>();
        Assert.Null(updated.Description);

        await using var db = api.Database.CreateDbContext();
        var audits = await db.AuditEvents.AsNoTracking().Where(e => e.TenantId == tenant.Id && e.Action == "webhook.updated").OrderBy(e => e.Position).ToListAsync();
        Assert.Equal(2, audits.Count);
        Assert.Contains("enabled", audits[0].Data, StringComparison.Ordinal);
        Assert.Contains("events", audits[0].Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_removes_the_subscription_and_its_delivery_log()
    {
        var tenant = await api.CreateTenantAsync();
        var created = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", Body(PublicUrl, "feedback.requested"))).ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        await RequestFeedbackAsync(tenant.Id);
        await using var db = api.Database.CreateDbContext();
        Assert.Equal(1, await db.WebhookDeliveries.CountAsync(d => d.SubscriptionId == created.Id));

        Assert.Equal(HttpStatusCode.NoContent, (await tenant.Admin.DeleteAsync($"/v1/webhooks/{created.Id}")).StatusCode);
        await (await tenant.Admin.GetAsync($"/v1/webhooks/{created.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(0, await db.WebhookDeliveries.CountAsync(d => d.SubscriptionId == created.Id));
        Assert.True(await db.AuditEvents.AnyAsync(e => e.TenantId == tenant.Id && e.Action == "webhook.deleted" && e.SubjectId == created.Id));
    }

    [Fact]
    public async Task A_change_raises_an_event_with_a_delivery_and_an_outbox_message_only_for_subscribed_enabled_types()
    {
        var tenant = await api.CreateTenantAsync();
        var requested = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", Body(PublicUrl, "feedback.requested"))).ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        var sentOnly = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", Body(PublicUrl, "delivery.sent"))).ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        var disabled = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", Body(PublicUrl, "feedback.requested"))).ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        await tenant.Admin.PatchAsync($"/v1/webhooks/{disabled.Id}", HttpAssertions.JsonBody(new { enabled = false }));
        var quiet = await api.CreateTenantAsync(); // no subscriptions: nothing is raised

        var (applicationId, externalId, requestId) = await RequestFeedbackAsync(tenant.Id);
        await RequestFeedbackAsync(quiet.Id);

        await using var db = api.Database.CreateDbContext();
        var e = await db.WebhookEvents.AsNoTracking().SingleAsync(x => x.TenantId == tenant.Id);
        Assert.Equal("feedback.requested", e.Type);
        var delivery = await db.WebhookDeliveries.AsNoTracking().SingleAsync(d => d.TenantId == tenant.Id);
        Assert.Equal(requested.Id, delivery.SubscriptionId);
        Assert.Equal(e.Id, delivery.EventId);
        Assert.Equal(OutboundStatus.Scheduled, delivery.Status);
        Assert.True(delivery.DueAt <= DateTimeOffset.UtcNow); // due now: the worker's dispatcher finds it in the table, no message is queued
        Assert.False(await db.OutboxMessages.AnyAsync(m => m.TenantId == tenant.Id && m.MessageType == MessageTypes.NameOf(typeof(DeliverWebhook))));
        Assert.False(await db.WebhookEvents.AnyAsync(x => x.TenantId == quiet.Id));
        Assert.DoesNotContain(sentOnly.Id, await db.WebhookDeliveries.Select(d => d.SubscriptionId).ToListAsync());

        using var body = JsonDocument.Parse(e.Body);
        var data = body.RootElement.GetProperty("data");
        Assert.Equal(e.Id, body.RootElement.GetProperty("id").GetGuid());
        Assert.Equal(applicationId, data.GetProperty("applicationId").GetGuid());
        Assert.Equal(externalId, data.GetProperty("applicationExternalId").GetString());
        Assert.Equal(requestId, data.GetProperty("requestId").GetGuid());
        Assert.DoesNotContain("Ada", e.Body, StringComparison.Ordinal); // no personal data
        Assert.DoesNotContain("@", e.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("note", e.Body, StringComparison.OrdinalIgnoreCase);

        // The deliveries are listable and show the exact body.
        var page = await (await tenant.Admin.GetAsync($"/v1/webhooks/{requested.Id}/deliveries?status=pending")).ReadAsync<Page<WebhookDeliverySummary>>();
        Assert.Equal(delivery.Id, Assert.Single(page.Items).Id);
        var detail = await (await tenant.Admin.GetAsync($"/v1/webhooks/{requested.Id}/deliveries/{delivery.Id}")).ReadAsync<WebhookDeliveryResponse>();
        Assert.Equal(e.Body, detail.Event.Body);
        Assert.Empty(detail.Attempts);
        await (await tenant.Admin.GetAsync($"/v1/webhooks/{requested.Id}/deliveries?status=sideways")).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        await (await tenant.Admin.GetAsync($"/v1/webhooks/{sentOnly.Id}/deliveries/{delivery.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Redeliver_while_an_attempt_runs_answers_409_and_otherwise_makes_it_due_now()
    {
        var tenant = await api.CreateTenantAsync();
        var created = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", Body(PublicUrl, "feedback.requested"))).ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        await RequestFeedbackAsync(tenant.Id);
        await using var db = api.Database.CreateDbContext();
        var delivery = await db.WebhookDeliveries.AsNoTracking().SingleAsync(d => d.SubscriptionId == created.Id);

        // An attempt claimed as the worker claims it (Sending, with a lease; no lock held while it runs).
        await using (var worker = api.Database.CreateDbContext())
            await OutboundSteps.ChangeAsync<WebhookDelivery>(worker, delivery.Id, (d, guard) => Assert.NotNull(d.TryClaim(guard, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1))));
        var list = await (await tenant.Admin.GetAsync($"/v1/webhooks/{created.Id}/deliveries")).ReadAsync<Page<WebhookDeliverySummary>>();
        Assert.Equal(WebhookDeliveryStatus.Pending, Assert.Single(list.Items).Status);
        var running = await (await tenant.Admin.GetAsync($"/v1/webhooks/{created.Id}/deliveries/{delivery.Id}")).ReadAsync<WebhookDeliveryResponse>();
        Assert.Equal("in-progress", Assert.Single(running.Attempts).Outcome);
        await (await tenant.Admin.PostAsync($"/v1/webhooks/{created.Id}/deliveries/{delivery.Id}/redeliver", null))
            .AssertProblemAsync(HttpStatusCode.Conflict, "webhook-send-in-progress");
        await using (var worker = api.Database.CreateDbContext())
        {
            await OutboundSteps.ChangeAsync<WebhookDelivery>(worker, delivery.Id, (d, guard) =>
                d.RecordAnswer(guard, WebhookDelivery.Answer(new WebhookSendResult(WebhookAttemptOutcomes.HttpError, 503, 5, "HTTP 503", null)), OutboundSteps.Policy, DateTimeOffset.UtcNow));
        }

        var response = await tenant.Admin.PostAsync($"/v1/webhooks/{created.Id}/deliveries/{delivery.Id}/redeliver", null);
        var redelivered = await response.ReadAsync<WebhookDeliveryResponse>(HttpStatusCode.Accepted);
        Assert.Equal(delivery.EventId, redelivered.Event.Id);
        Assert.Equal(WebhookDeliveryStatus.Pending, redelivered.Status);
        // Due now, and one message wakes the worker's dispatcher (the delivery itself queued none).
        Assert.True((await db.WebhookDeliveries.AsNoTracking().SingleAsync(d => d.Id == delivery.Id)).DueAt <= DateTimeOffset.UtcNow);
        Assert.Equal(1, (await db.OutboxMessages.AsNoTracking().Where(m => m.TenantId == tenant.Id).Select(m => m.Body).ToListAsync()).Count(b => b.Contains(delivery.Id.ToString(), StringComparison.Ordinal)));
        Assert.True(await db.AuditEvents.AnyAsync(e => e.TenantId == tenant.Id && e.Action == "webhook.redelivered"));
    }

    /// <summary>A candidate, a rejected application and the candidate's request, saved in one unit of work like the API does.</summary>
    private async Task<(Guid ApplicationId, string ExternalId, Guid RequestId)> RequestFeedbackAsync(Guid tenantId)
    {
        var now = DateTimeOffset.UtcNow;
        var external = "ext-" + Guid.NewGuid().ToString("N")[..10];
        await using var db = api.Database.CreateDbContext();
        var candidate = Candidate.Create(tenantId, new CandidateDetails("cand-" + external, "Ada", "Lovelace", "ada@example.com", null), now);
        var application = Application.Create(tenantId, external, candidate.Id, new ApplicationDetails("Engineer", null, null), now);
        application.Reject(now, now);
        db.Candidates.Add(candidate);
        db.Applications.Add(application);
        await db.SaveChangesAsync();
        var request = FeedbackRequest.Create(tenantId, application.Id, "Please tell me more", now);
        db.FeedbackRequests.Add(request);
        await db.SaveChangesAsync();
        return (application.Id, external, request.Id);
    }
}
