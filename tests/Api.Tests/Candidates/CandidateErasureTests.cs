using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FeedbackHub.Api.Features.Applications;
using FeedbackHub.Api.Features.Audit;
using FeedbackHub.Api.Features.Candidates;
using FeedbackHub.Api.Features.Feedback;
using FeedbackHub.Api.Tests.Authoring;
using FeedbackHub.Api.Tests.Requests;
using FeedbackHub.Api.Tests.Templates;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Tests.Candidates;

/// <summary>A candidate's whole story arranged through the API (and an SMTP history through the domain), then erased.</summary>
public sealed class CandidateErasureTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task The_check_for_erased_candidates_before_recording_reads_the_batch_by_key_not_every_candidate()
    {
        var tenant = await api.CreateTenantAsync();
        var erased = await ApplicationSteps.ApplicationAsync(tenant, email: "gone@example.com");
        var kept = await ApplicationSteps.ApplicationAsync(tenant, email: "kept@example.com");
        // 30,000 candidates, none erased when the statistics were taken; then one is.
        await api.Database.ExecuteAsync($"""
            INSERT INTO candidates (id, tenant_id, external_id, first_name, email, created_at, updated_at)
            SELECT gen_random_uuid(), '{tenant.Id}', 'filler-' || n, 'Filler', 'filler-' || n || '@example.com', now(), now()
            FROM generate_series(1, 30000) AS n;
            ANALYZE candidates; ANALYZE applications;
            UPDATE candidates SET erased_at = now(), first_name = '', last_name = NULL, email = '', locale = NULL
            WHERE id = (SELECT candidate_id FROM applications WHERE id = '{erased}');
            """);
        await using var db = api.Database.CreateDbContext();
        await using var tx = await db.Database.BeginTransactionAsync();

        var (plans, found) = await PlanCapture.RunAsync(db, () => DeliveryScheduling.ErasedApplicationsAsync(db, [erased, kept], CancellationToken.None));

        Assert.Equal([erased], found);
        var plan = Assert.Single(plans, p => p.Contains("erased_at IS NOT NULL", StringComparison.Ordinal));
        Assert.False(plan.Contains("Seq Scan on candidates", StringComparison.Ordinal), plan);
        await tx.CommitAsync();
        Assert.Equal("on", await PlanCapture.SettingAsync(db, "enable_seqscan"));
    }

    [Fact]
    public async Task Erasure_leaves_no_name_or_email_in_any_table_outbox_row_or_log_line_and_the_audit_chain_verifies()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromDays(1), InvitationsEnabled = true });
        var story = await CandidateStory.ArrangeAsync(api, tenant);

        // The arrangement really stored the person everywhere the erasure must reach (so this test can fail).
        var before = await api.Database.DumpAsync();
        foreach (var secret in story.Secrets)
            Assert.Contains(secret, before, StringComparison.OrdinalIgnoreCase);
        await using (var db = api.Database.CreateDbContext())
        {
            Assert.Equal(OutboundStatus.Scheduled, (await db.Deliveries.SingleAsync(d => d.ApplicationId == story.ApplicationId)).Status);
            Assert.Equal(OutboundStatus.Scheduled, (await db.Invitations.SingleAsync(i => i.ApplicationId == story.ApplicationId)).Status);
            var kept = (await db.Feedback.SingleAsync(f => f.ApplicationId == story.ApplicationId)).LastChangeRequest!;
            Assert.Contains(story.FirstName, kept.Comment, StringComparison.Ordinal);
            Assert.Contains(kept.Answers, a => a.Comment?.Contains(story.FirstName, StringComparison.Ordinal) == true);
        }

        var ats = await tenant.ClientAsync("integration");
        var erased = await (await ats.DeleteAsync($"/v1/candidates/{story.CandidateId}")).ReadAsync<ErasureResponse>(HttpStatusCode.Accepted);
        Assert.False(erased.AlreadyErased);
        Assert.Equal(story.CandidateId, erased.CandidateId);
        var cleared = erased.Cleared;
        Assert.Equal((4, 1, 1, 1, 1, 1, 1), (cleared.CandidateFields, cleared.Applications, cleared.RequestNotes, cleared.LinksRevoked,
            cleared.DeliveriesCancelled, cleared.InvitationsCancelled, cleared.SuppressedAddresses));
        Assert.True(cleared.DeliveryReplies >= 2, "attempt reply and last reply");
        Assert.True(cleared.FeedbackTexts >= 3, "the answer's comment, and the comment and review comment kept with the request for changes");
        Assert.True(cleared.IdempotencyRecords >= 2, "the stored StartFeedback answer and the one quoting the email");

        // pg_dump of the whole database: no trace of the person.
        var dump = await api.Database.DumpAsync();
        foreach (var secret in story.Secrets)
            Assert.DoesNotContain(secret, dump, StringComparison.OrdinalIgnoreCase);

        // Outbox rows never held personal data: ids only.
        await using (var db = api.Database.CreateDbContext())
        {
            var bodies = await db.OutboxMessages.Where(m => m.TenantId == tenant.Id).Select(m => m.Body).ToListAsync();
            Assert.NotEmpty(bodies); // the invitation and the delivery messages
            foreach (var body in bodies)
            {
                foreach (var secret in story.Secrets)
                    Assert.DoesNotContain(secret, body, StringComparison.OrdinalIgnoreCase);
                foreach (var property in JsonDocument.Parse(body).RootElement.EnumerateObject())
                    Assert.True(Guid.TryParse(property.Value.GetString(), out _), $"outbox property {property.Name} is not an id");
            }
        }

        // Nothing the API logged during the test names the person.
        var logs = api.Logs.Lines.ToList();
        Assert.NotEmpty(logs);
        foreach (var secret in story.Secrets)
            Assert.DoesNotContain(logs, l => l.Contains(secret, StringComparison.OrdinalIgnoreCase));

        // The audit chain still verifies and records the erasure with counts only.
        var verify = await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>();
        Assert.True(verify.Valid, verify.FirstBreak?.Detail);
        await using (var db = api.Database.CreateDbContext())
        {
            var events = await db.AuditEvents.Where(e => e.TenantId == tenant.Id).OrderBy(e => e.Position).ToListAsync();
            var erasedEvent = Assert.Single(events, e => e.Action == "candidate.erased");
            Assert.Equal(story.CandidateId, erasedEvent.SubjectId);
            Assert.Contains("\"reason\":\"manual\"", erasedEvent.Data, StringComparison.Ordinal);
            Assert.Contains(events, e => e.Action == "delivery.cancelled" && e.Data.Contains("candidate-erased", StringComparison.Ordinal));
            var delivery = await db.Deliveries.Include(d => d.Attempts).SingleAsync(d => d.ApplicationId == story.ApplicationId);
            Assert.Equal(OutboundStatus.Cancelled, delivery.Status);
            var deliveryId = delivery.Id.ToString();
            Assert.Contains(await db.WebhookEvents.Where(e => e.TenantId == tenant.Id).ToListAsync(),
                e => e.Type == WebhookEventTypes.DeliveryCancelled && e.Body.Contains(deliveryId, StringComparison.Ordinal)); // raised through the domain
            Assert.All(delivery.Attempts, a => Assert.StartsWith("451 (reply text erased", a.Reply, StringComparison.Ordinal));
            Assert.Equal(OutboundStatus.Cancelled, (await db.Invitations.SingleAsync(i => i.ApplicationId == story.ApplicationId)).Status);
            var feedback = await db.Feedback.SingleAsync(f => f.ApplicationId == story.ApplicationId);
            Assert.All(feedback.Answers, a => Assert.Null(a.Comment));
            Assert.Equal("meets", feedback.Answers.Single(a => a.Criterion == "problem-solving").Band); // structured ratings stay
            Assert.Equal(FeedbackHub.Domain.Authoring.Feedback.ErasedText, feedback.LastChangeRequest!.Comment);
            Assert.All(feedback.LastChangeRequest.Answers, a => Assert.Null(a.Comment));
            Assert.Equal("meets", feedback.LastChangeRequest.Answers.Single(a => a.Criterion == "problem-solving").Band);
        }

        // The candidate's link answers like an unknown one; the application shows no personal data.
        await (await api.CreateClient().GetAsync($"/v1/public/feedback-requests/{story.Token}")).AssertProblemAsync(HttpStatusCode.NotFound, "link-not-valid");
        await (await api.CreateClient().PostJsonAsync($"/v1/public/feedback-requests/{story.Token}", new { note = "again" })).AssertProblemAsync(HttpStatusCode.NotFound, "link-not-valid");
        var application = await (await ats.GetAsync($"/v1/applications/{story.ApplicationId}")).ReadAsync<ApplicationDetailResponse>();
        Assert.Equal((null, null, null, null), (application.Candidate.FirstName, application.Candidate.LastName, application.Candidate.Email, application.Candidate.Locale));
        Assert.Equal(story.CandidateExternalId, application.Candidate.ExternalId);
        Assert.Equal(FeedbackHub.Domain.Delivery.DeliveryStatus.Cancelled, application.Delivery!.Status);

        // Nothing more is written about the person.
        var interviewer = await tenant.ClientAsync("interviewer");
        await (await FeedbackWorkflowTests.SaveAsync(interviewer, story.FeedbackId, [new("problem-solving", "meets", [], $"{story.FirstName} again")], null))
            .AssertProblemAsync(HttpStatusCode.Conflict, "candidate-erased");

        // Repeating answers 202 with alreadyErased; the ATS upserting the person again does not bring them back.
        var again = await (await ats.DeleteAsync($"/v1/candidates/{story.CandidateId}")).ReadAsync<ErasureResponse>(HttpStatusCode.Accepted);
        Assert.True(again.AlreadyErased);
        Assert.Equal(erased.ErasedAt, again.ErasedAt);
        var upserted = await (await ats.PutAsync($"/v1/applications/by-external-id/{story.ApplicationExternalId}", HttpAssertions.JsonBody(new
        {
            candidate = new { externalId = story.CandidateExternalId, firstName = story.FirstName, lastName = story.LastName, email = story.Email },
            positionTitle = "Backend Engineer",
        }))).ReadAsync<ApplicationResponse>();
        Assert.Null(upserted.Candidate.FirstName);
        var found = await (await ats.GetAsync($"/v1/candidates?externalId={story.CandidateExternalId}")).ReadAsync<CandidateLookupResponse>();
        Assert.NotNull(found.ErasedAt);
        Assert.Null(found.Email);
        var afterUpsert = await api.Database.DumpAsync();
        foreach (var secret in story.Secrets)
            Assert.DoesNotContain(secret, afterUpsert, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("550 5.1.1 <ada@example.test>: user unknown")]
    [InlineData("451 4.2.0 <ada@example.test> greylisted")]
    [InlineData("Not sent: the address is suppressed")]
    [InlineData("42")]
    [InlineData("4")]
    [InlineData("")]
    [InlineData("4a1 odd")]
    [InlineData("\u0664\u0665\u0661 Arabic-Indic digits")]
    [InlineData("550 (reply text erased with the candidate's personal data)")]
    public async Task The_erasure_reduces_a_stored_reply_exactly_as_a_reply_recorded_after_it_is(string reply)
    {
        await using var connection = new Npgsql.NpgsqlConnection(api.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand($"SELECT {CandidateErasure.ErasedReplySql("@reply")}", connection);
        command.Parameters.AddWithValue("reply", reply);
        command.Parameters.AddWithValue("erased_reply", OutboundItem.ErasedReplyText);
        Assert.Equal(OutboundItem.ErasedReply(reply), (string?)await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Erasing_again_counts_only_what_was_found_again_and_moves_nothing_else()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromDays(1), InvitationsEnabled = true });
        var story = await CandidateStory.ArrangeAsync(api, tenant);
        var ats = await tenant.ClientAsync("integration");
        var first = await (await ats.DeleteAsync($"/v1/candidates/{story.CandidateId}")).ReadAsync<ErasureResponse>(HttpStatusCode.Accepted);
        // The answer's comment, and in the version sent back its comment and the reviewer's comment: exactly three texts.
        Assert.Equal(3, first.Cleared.FeedbackTexts);

        var again = await (await ats.DeleteAsync($"/v1/candidates/{story.CandidateId}")).ReadAsync<ErasureResponse>(HttpStatusCode.Accepted);
        Assert.True(again.AlreadyErased);
        Assert.Equal(ErasureCounts.None with { Applications = 1 }, again.Cleared);
        await using var db = api.Database.CreateDbContext();
        Assert.Single(await db.AuditEvents.Where(e => e.TenantId == tenant.Id && e.Action == "candidate.erased").ToListAsync());
    }

    [Fact]
    public async Task Another_tenants_candidate_is_not_found_and_only_admin_and_integration_may_erase()
    {
        var tenant = await api.CreateTenantAsync();
        var other = await api.CreateTenantAsync();
        var (candidateId, _) = await CandidateOfAsync(tenant);

        await (await (await other.ClientAsync("integration")).DeleteAsync($"/v1/candidates/{candidateId}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await (await other.ClientAsync("admin")).GetAsync($"/v1/candidates/{candidateId}/export")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await (await tenant.ClientAsync("recruiter")).DeleteAsync($"/v1/candidates/{candidateId}")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await (await tenant.ClientAsync("legal")).DeleteAsync($"/v1/candidates/{candidateId}")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await tenant.Admin.DeleteAsync($"/v1/candidates/{Guid.CreateVersion7()}")).AssertProblemAsync(HttpStatusCode.NotFound);

        var erased = await (await tenant.Admin.DeleteAsync($"/v1/candidates/{candidateId}")).ReadAsync<ErasureResponse>(HttpStatusCode.Accepted);
        Assert.False(erased.AlreadyErased);
        await using var db = api.Database.CreateDbContext();
        Assert.Null((await db.Candidates.SingleAsync(c => c.Id == candidateId)).LastName);
    }

    [Fact]
    public async Task A_legal_hold_blocks_manual_erasure_until_it_is_released()
    {
        var tenant = await api.CreateTenantAsync();
        var (candidateId, applicationId) = await CandidateOfAsync(tenant);
        var legal = await tenant.ClientAsync("legal");

        await (await (await tenant.ClientAsync("recruiter")).PutAsync($"/v1/applications/{applicationId}/legal-hold", HttpAssertions.JsonBody(new { onHold = true })))
            .AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await legal.PutAsync($"/v1/applications/{applicationId}/legal-hold", HttpAssertions.JsonBody(new { onHold = true, reason = new string('x', 201) })))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        var hold = await (await legal.PutAsync($"/v1/applications/{applicationId}/legal-hold", HttpAssertions.JsonBody(new { onHold = true, reason = "Case 2026-114" })))
            .ReadAsync<LegalHoldResponse>();
        Assert.True(hold.OnHold);
        Assert.NotNull(hold.SetAt);
        Assert.NotNull(hold.SetById);
        Assert.True((await (await legal.GetAsync($"/v1/applications/{applicationId}")).ReadAsync<ApplicationDetailResponse>()).LegalHold);

        var ats = await tenant.ClientAsync("integration");
        await (await ats.DeleteAsync($"/v1/candidates/{candidateId}")).AssertProblemAsync(HttpStatusCode.Conflict, "legal-hold");
        await using (var db = api.Database.CreateDbContext())
            Assert.Null((await db.Candidates.SingleAsync(c => c.Id == candidateId)).ErasedAt);

        var released = await (await tenant.Admin.PutAsync($"/v1/applications/{applicationId}/legal-hold", HttpAssertions.JsonBody(new { onHold = false })))
            .ReadAsync<LegalHoldResponse>();
        Assert.False(released.OnHold);
        Assert.Null(released.Reason);
        (await ats.DeleteAsync($"/v1/candidates/{candidateId}")).EnsureSuccessStatusCode();

        await using var after = api.Database.CreateDbContext();
        var actions = await after.AuditEvents.Where(e => e.TenantId == tenant.Id && e.SubjectId == applicationId).Select(e => e.Action).ToListAsync();
        Assert.Contains("application.legal-hold-set", actions);
        Assert.Contains("application.legal-hold-released", actions);
        Assert.DoesNotContain(after.AuditEvents.Where(e => e.TenantId == tenant.Id), e => e.Data.Contains("2026-114"));
    }

    [Fact]
    public async Task The_database_refuses_personal_data_on_an_erased_candidate_so_a_racing_upsert_cannot_bring_it_back()
    {
        var tenant = await api.CreateTenantAsync();
        var (candidateId, _) = await CandidateOfAsync(tenant);

        // An upsert that read the candidate before the erasure and writes its change after it.
        await using var racing = api.Database.CreateDbContext();
        var stale = await racing.Candidates.SingleAsync(c => c.Id == candidateId);
        (await (await tenant.ClientAsync("integration")).DeleteAsync($"/v1/candidates/{candidateId}")).EnsureSuccessStatusCode();
        stale.ApplyUpsert(new CandidateDetails(stale.ExternalId, "Late", "Write", "late@example.test", null), DateTimeOffset.UtcNow);
        var refused = await Assert.ThrowsAsync<DbUpdateException>(() => racing.SaveChangesAsync());
        Assert.Equal("ck_candidates_erased_holds_no_personal_data", (refused.InnerException as Npgsql.PostgresException)?.ConstraintName);

        await using var db = api.Database.CreateDbContext();
        var erased = await db.Candidates.SingleAsync(c => c.Id == candidateId);
        Assert.Equal(("", null), (erased.FirstName, erased.LastName));
    }

    [Fact]
    public async Task Find_by_external_id_answers_the_candidate_and_its_applications_within_the_tenant()
    {
        var tenant = await api.CreateTenantAsync();
        var (candidateId, applicationId) = await CandidateOfAsync(tenant);
        string externalId;
        await using (var db = api.Database.CreateDbContext())
            externalId = (await db.Candidates.SingleAsync(c => c.Id == candidateId)).ExternalId;

        var found = await (await (await tenant.ClientAsync("recruiter")).GetAsync($"/v1/candidates?externalId={externalId}")).ReadAsync<CandidateLookupResponse>();
        Assert.Equal(candidateId, found.Id);
        Assert.Equal([applicationId], found.ApplicationIds);
        Assert.Equal("Ada", found.FirstName);
        Assert.Null(found.ErasedAt);

        await (await (await (await api.CreateTenantAsync()).ClientAsync("integration")).GetAsync($"/v1/candidates?externalId={externalId}"))
            .AssertProblemAsync(HttpStatusCode.NotFound);
        await (await tenant.Admin.GetAsync("/v1/candidates")).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        await (await tenant.Admin.GetAsync("/v1/candidates?externalId=no%20spaces")).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
    }

    private async Task<(Guid CandidateId, Guid ApplicationId)> CandidateOfAsync(TestTenant tenant)
    {
        var applicationId = await FeedbackWorkflowTests.ApplicationAsync(tenant);
        await using var db = api.Database.CreateDbContext();
        return ((await db.Applications.SingleAsync(a => a.Id == applicationId)).CandidateId, applicationId);
    }
}

/// <summary>
/// One candidate with a distinctive name and address, taken through the whole product: upsert, feedback that mentions
/// them (sent back once by a reviewer whose comment names them too, then approved), rejection (with an invitation), their request with a note, a scheduled delivery with an earlier SMTP refusal
/// that quoted the address, a suppression entry, and stored idempotent answers.
/// </summary>
internal sealed record CandidateStory(
    Guid CandidateId, string CandidateExternalId, Guid ApplicationId, string ApplicationExternalId, Guid FeedbackId, string Token,
    string FirstName, string LastName, string Email)
{
    public IReadOnlyList<string> Secrets => [FirstName, LastName, Email];

    public static async Task<CandidateStory> ArrangeAsync(ApiFactory api, TestTenant tenant)
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var firstName = "Zephyrine" + tag;
        var lastName = "Quillfeather" + tag;
        var email = $"zq-{Guid.NewGuid():N}@example.org";
        var ats = await tenant.ClientAsync("integration");
        // A webhook subscriber for every event: webhook events (ids only) are written for this story too.
        await using (var arrange = api.Database.CreateDbContext())
        {
            arrange.WebhookSubscriptions.Add(WebhookSubscription.Create(tenant.Id, new Uri("https://ats.example.com/hooks"), WebhookEventTypes.All, null,
                WebhookSecretBox.FromConfiguration(TestServices.WebhookSecretKey), DateTimeOffset.UtcNow).Subscription);
            await arrange.SaveChangesAsync();
        }

        var applicationExternal = "app-" + tag;
        var candidateExternal = "cand-" + tag;
        var put = new HttpRequestMessage(HttpMethod.Put, $"/v1/applications/by-external-id/{applicationExternal}")
        {
            Content = HttpAssertions.JsonBody(new
            {
                candidate = new { externalId = candidateExternal, firstName, lastName, email, locale = "en-GB" },
                positionTitle = "Backend Engineer",
                stageReached = "onsite",
            }),
        };
        put.Headers.Add("Idempotency-Key", "upsert-" + tag);
        var application = await (await ats.SendAsync(put)).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);

        // Feedback whose free text names the candidate; started with an Idempotency-Key, so its answer is stored.
        var interviewer = await tenant.ClientAsync("interviewer");
        var templateId = await TemplateLifecycleTests.PublishedTemplateAsync(tenant);
        var start = new HttpRequestMessage(HttpMethod.Post, "/v1/feedback") { Content = JsonContent.Create(new { applicationId = application.Id, templateId }) };
        start.Headers.Add("Idempotency-Key", "start-" + tag);
        var feedback = await (await interviewer.SendAsync(start)).ReadAsync<FeedbackResponse>(HttpStatusCode.Created);
        IReadOnlyList<Answer> answers =
        [
            new("problem-solving", "meets", [], $"{firstName} reached a correct solution for the second exercise."),
            new("code-quality", "strong"), new("system-design", "developing"), new("communication", "meets"),
        ];
        (await FeedbackWorkflowTests.SaveAsync(interviewer, feedback.Id, answers, null)).EnsureSuccessStatusCode();
        (await interviewer.PostJsonAsync($"/v1/feedback/{feedback.Id}/submit", new { })).EnsureSuccessStatusCode();

        // A reviewer sends it back once (that version and their comment, both naming the candidate, are kept), then approves.
        var recruiter = await tenant.ClientAsync("recruiter");
        (await recruiter.PostJsonAsync($"/v1/feedback/{feedback.Id}/request-changes", new { comment = $"Say how {firstName} tested it." })).EnsureSuccessStatusCode();
        answers = [answers[0] with { Comment = $"{firstName} reached a correct solution and tested the edge cases." }, .. answers.Skip(1)];
        (await FeedbackWorkflowTests.SaveAsync(interviewer, feedback.Id, answers, null)).EnsureSuccessStatusCode();
        (await interviewer.PostJsonAsync($"/v1/feedback/{feedback.Id}/submit", new { })).EnsureSuccessStatusCode();
        (await recruiter.PostAsync($"/v1/feedback/{feedback.Id}/approve", null)).EnsureSuccessStatusCode();

        // Rejection (queues an invitation) and the candidate's request with a note naming them.
        var token = CandidateRequestTests.Token(await CandidateRequestTests.RejectAsync(tenant, application.Id));
        (await api.CreateClient().PostJsonAsync($"/v1/public/feedback-requests/{token}", new { note = $"I am {firstName} {lastName}, please write to {email}." }))
            .EnsureSuccessStatusCode();

        // What the worker records when SMTP refuses: a reply quoting the address, and (after a 5xx) a suppression entry.
        await using var db = api.Database.CreateDbContext();
        var deliveryId = await db.Deliveries.Where(d => d.ApplicationId == application.Id).Select(d => d.Id).SingleAsync();
        var now = DateTimeOffset.UtcNow;
        await OutboundSteps.ChangeAsync<Delivery>(db, deliveryId, (delivery, guard) =>
        {
            Assert.NotNull(delivery.TryClaim(guard, now, TimeSpan.FromMinutes(2)));
            delivery.RecordAnswer(guard, new AttemptAnswer(AttemptOutcome.TransientFailure, 451, $"451 4.2.0 <{email}>: Recipient address temporarily rejected"), OutboundSteps.Policy, now);
        });
        var stored = IdempotencyRecord.Start(tenant.Id, "quote-" + tag, new byte[32], now);
        stored.Complete(201, $"{{\"email\":\"{email}\"}}", null);
        db.IdempotencyRecords.Add(stored);
        await db.SaveChangesAsync();
        await DeliveryScheduling.SuppressAsync(db, tenant.Id, email, $"550 5.1.1 <{email}>: user unknown", now, CancellationToken.None);

        return new CandidateStory(application.Candidate.Id, candidateExternal, application.Id, applicationExternal, feedback.Id, token, firstName, lastName, email);
    }
}
