using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FeedbackHub.Api.Commands;
using FeedbackHub.Api.Features.Audit;
using FeedbackHub.Api.Features.Feedback;
using FeedbackHub.Api.Features.Templates;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Api.Tests.Templates;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Authoring;

public sealed class FeedbackWorkflowTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    internal static readonly IReadOnlyList<Answer> CleanAnswers =
    [
        new("problem-solving", "meets", ["Talking through alternatives earlier would have made your reasoning easier to follow."], "You reached a correct solution for the second exercise."),
        new("code-quality", "strong", ["You kept functions small and focused."], null),
        new("system-design", "developing", [], null),
        new("communication", "meets", [], null),
    ];

    [Fact]
    public async Task Full_lifecycle_from_risky_template_to_approved_feedback_is_audited_and_verifies()
    {
        var tenant = await api.CreateTenantAsync("Lifecycle GmbH");
        var recruiter = await tenant.ClientAsync("recruiter");
        var otherRecruiter = await tenant.ClientAsync("recruiter");
        var legal = await tenant.ClientAsync("legal");
        var interviewer = await tenant.ClientAsync("interviewer");

        // Template: risky phrase refused at publication, fixed, published by legal.
        var created = await (await recruiter.PostJsonAsync("/v1/templates", TemplateLifecycleTests.Request(intro: "Hi {{candidate.first_name}}, at his age he was not what we needed.")))
            .ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        await recruiter.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/submit", null);
        await (await legal.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/publish", null)).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "language-blocked");
        await recruiter.PutAsync($"/v1/templates/{created.TemplateId}/draft", HttpAssertions.JsonBody(TemplateLifecycleTests.Request()));
        await recruiter.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/submit", null);
        (await legal.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/publish", null)).EnsureSuccessStatusCode();

        // Feedback: blocked by a risky comment, fixed, submitted; the author cannot approve; a colleague can.
        var applicationId = await ApplicationAsync(tenant);
        var started = await interviewer.PostJsonAsync("/v1/feedback", new { applicationId, templateId = created.TemplateId });
        var feedback = await started.ReadAsync<FeedbackResponse>(HttpStatusCode.Created);
        var risky = CleanAnswers.Select((a, i) => i == 0 ? a with { Comment = "Strong, but at her age she may not stay long." } : a).ToList();
        var saved = await SaveAsync(interviewer, feedback.Id, risky, started.Headers.ETag);
        var body = await saved.ReadAsync<FeedbackResponse>();
        Assert.Contains(body.Findings, f => f.Path == "answers[0].comment" && f.Category == "age" && f.Severity == Domain.Language.Severity.Block);
        var blocked = await (await interviewer.PostJsonAsync($"/v1/feedback/{feedback.Id}/submit", new { })).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "language-blocked");
        Assert.Equal("answers[0].comment", blocked.GetProperty("findings")[0].GetProperty("path").GetString());

        var fixedAnswers = await (await SaveAsync(interviewer, feedback.Id, CleanAnswers, saved.Headers.ETag)).ReadAsync<FeedbackResponse>();
        Assert.Empty(fixedAnswers.Findings);
        var submitted = await (await interviewer.PostJsonAsync($"/v1/feedback/{feedback.Id}/submit", new { })).ReadAsync<FeedbackResponse>();
        Assert.Equal(FeedbackStatus.Submitted, submitted.Status);

        // The interviewer has no reviewer role; a recruiter who edited it is an author too.
        await (await interviewer.PostAsync($"/v1/feedback/{feedback.Id}/approve", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        var approved = await (await otherRecruiter.PostAsync($"/v1/feedback/{feedback.Id}/approve", null)).ReadAsync<FeedbackResponse>();
        Assert.Equal(FeedbackStatus.Approved, approved.Status);
        Assert.Equal("Test recruiter", approved.ApprovedByName);

        var events = await (await tenant.Admin.GetAsync("/v1/audit?limit=100")).ReadAsync<Page<AuditEventResponse>>();
        Assert.Equal(
            ["template.created", "template.submitted", "template.draft-saved", "template.submitted", "template.published",
             "feedback.started", "feedback.saved", "feedback.saved", "feedback.submitted", "feedback.approved"],
            events.Items.Where(e => e.SubjectType is "template" or "feedback").Select(e => e.Action));
        Assert.All(events.Items, e => Assert.DoesNotContain("her age", e.Data, StringComparison.Ordinal));
        Assert.True((await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<AuditVerification>()).Valid);
    }

    [Fact]
    public async Task The_author_cannot_approve_their_own_feedback()
    {
        var (tenant, feedbackId, author) = await SubmittedFeedbackAsync("recruiter");
        await (await author.PostAsync($"/v1/feedback/{feedbackId}/approve", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "own-feedback");
        await (await author.PostJsonAsync($"/v1/feedback/{feedbackId}/request-changes", new { comment = "x" })).AssertProblemAsync(HttpStatusCode.Forbidden, "own-feedback");
        var legal = await tenant.ClientAsync("legal");
        Assert.Equal(FeedbackStatus.Approved, (await (await legal.PostAsync($"/v1/feedback/{feedbackId}/approve", null)).ReadAsync<FeedbackResponse>()).Status);
    }

    [Fact]
    public async Task Requested_changes_go_back_to_the_author_and_can_be_resubmitted()
    {
        var (tenant, feedbackId, author) = await SubmittedFeedbackAsync("interviewer");
        var reviewer = await tenant.ClientAsync("recruiter");
        var sent = await (await reviewer.PostJsonAsync($"/v1/feedback/{feedbackId}/request-changes", new { comment = "Please say more about the design exercise." }))
            .ReadAsync<FeedbackResponse>();
        Assert.Equal(FeedbackStatus.ChangesRequested, sent.Status);
        Assert.Equal("Please say more about the design exercise.", sent.ReviewComment);
        await (await reviewer.PostAsync($"/v1/feedback/{feedbackId}/approve", null)).AssertProblemAsync(HttpStatusCode.Conflict, "feedback-not-submitted");
        await SaveAsync(author, feedbackId, CleanAnswers, null);
        Assert.Equal(FeedbackStatus.Submitted, (await (await author.PostJsonAsync($"/v1/feedback/{feedbackId}/submit", new { })).ReadAsync<FeedbackResponse>()).Status);
    }

    [Fact]
    public async Task After_a_request_for_changes_get_shows_the_version_sent_back_and_what_the_author_changed_since()
    {
        var (tenant, feedbackId, author) = await SubmittedFeedbackAsync("interviewer");
        var reviewer = await tenant.ClientAsync("recruiter");
        var before = await (await reviewer.GetAsync($"/v1/feedback/{feedbackId}")).ReadAsync<FeedbackResponse>();
        Assert.Null(before.LastChangeRequest);

        (await reviewer.PostJsonAsync($"/v1/feedback/{feedbackId}/request-changes", new { comment = "Say how the solution was tested." })).EnsureSuccessStatusCode();
        var sentBack = (await (await author.GetAsync($"/v1/feedback/{feedbackId}")).ReadAsync<FeedbackResponse>()).LastChangeRequest!;
        Assert.Equal((before.Version, "Say how the solution was tested.", "Test recruiter"), (sentBack.Version, sentBack.Comment, sentBack.RequestedByName));
        Assert.Equal(CleanAnswers.Select(a => (a.Criterion, a.Band, a.Comment)), sentBack.Answers.Select(a => (a.Criterion, a.Band, a.Comment)));
        Assert.Empty(sentBack.Changes); // nothing edited yet

        // The author rewrites one comment, changes a band and its phrase, adds a comment, and submits again.
        IReadOnlyList<Answer> edited =
        [
            CleanAnswers[0] with { Comment = "You reached a correct solution for the second exercise and tested the edge cases." },
            new("code-quality", "meets", ["Clearer names for intermediate values would help readers."]),
            new("system-design", "developing", [], "Your design covered the storage but not the failures."),
            CleanAnswers[3],
        ];
        (await SaveAsync(author, feedbackId, edited, null)).EnsureSuccessStatusCode();
        (await author.PostJsonAsync($"/v1/feedback/{feedbackId}/submit", new { })).EnsureSuccessStatusCode();

        var response = await reviewer.GetAsync($"/v1/feedback/{feedbackId}");
        var raw = await response.Content.ReadAsStringAsync();
        var now = await response.ReadAsync<FeedbackResponse>();
        Assert.Equal(FeedbackStatus.Submitted, now.Status);
        Assert.Null(now.ReviewComment);
        var request = now.LastChangeRequest!;
        Assert.Equal((sentBack.Version, sentBack.RequestedAt, sentBack.Comment), (request.Version, request.RequestedAt, request.Comment));
        Assert.Equal(sentBack.Answers.Select(a => a.Comment), request.Answers.Select(a => a.Comment));

        Assert.Equal(["problem-solving", "code-quality", "system-design"], request.Changes.Select(c => c.Criterion));
        var rewritten = request.Changes[0];
        Assert.False(rewritten.BandChanged);
        Assert.Equal(
            [
                new TextSegment(SegmentKind.Unchanged, "You reached a correct solution for the second "),
                new TextSegment(SegmentKind.Removed, "exercise."),
                new TextSegment(SegmentKind.Added, "exercise and tested the edge cases."),
            ],
            rewritten.Comment);
        var rated = request.Changes[1];
        Assert.Equal(("strong", "meets", true), (rated.BandBefore, rated.BandAfter, rated.BandChanged));
        Assert.Equal(["Clearer names for intermediate values would help readers."], rated.PhrasesAdded);
        Assert.Equal(["You kept functions small and focused."], rated.PhrasesRemoved);
        Assert.Null(rated.Comment);
        Assert.Equal([new TextSegment(SegmentKind.Added, "Your design covered the storage but not the failures.")], request.Changes[2].Comment);

        // On the wire: camelCase members, enum values as lower-camel strings.
        using var json = JsonDocument.Parse(raw);
        var change = json.RootElement.GetProperty("lastChangeRequest").GetProperty("changes")[0];
        Assert.Equal("changed", change.GetProperty("kind").GetString());
        Assert.Equal("removed", change.GetProperty("comment")[1].GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Warnings_need_an_acknowledgement_with_a_reason_which_is_recorded()
    {
        var tenant = await api.CreateTenantAsync();
        var interviewer = await tenant.ClientAsync("interviewer");
        var feedbackId = await StartAsync(tenant, interviewer);
        var answers = CleanAnswers.Select((a, i) => i == 0 ? a with { Comment = "Another candidate was stronger in system design." } : a).ToList();
        var saved = await (await SaveAsync(interviewer, feedbackId, answers, null)).ReadAsync<FeedbackResponse>();
        var warning = Assert.Single(saved.Findings);
        Assert.Equal(Domain.Language.Severity.Warn, warning.Severity);

        var refused = await (await interviewer.PostJsonAsync($"/v1/feedback/{feedbackId}/submit", new { })).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "acknowledgement-required");
        Assert.Equal(warning.RuleId, refused.GetProperty("findings")[0].GetProperty("ruleId").GetString());
        await (await interviewer.PostJsonAsync($"/v1/feedback/{feedbackId}/submit", new { acknowledgements = new[] { new { ruleId = warning.RuleId, path = warning.Path, reason = " " } } }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "acknowledgement-required");

        var submitted = await (await interviewer.PostJsonAsync($"/v1/feedback/{feedbackId}/submit",
            new { acknowledgements = new[] { new { ruleId = warning.RuleId, path = warning.Path, reason = "Legal agreed we may say the bar was set by the pool." } } }))
            .ReadAsync<FeedbackResponse>();
        var ack = Assert.Single(submitted.Acknowledgements);
        Assert.Equal("Test interviewer", ack.ByName);
        Assert.Equal(FeedbackStatus.Submitted, submitted.Status);
    }

    [Fact]
    public async Task Incomplete_answers_cannot_be_submitted()
    {
        var tenant = await api.CreateTenantAsync();
        var interviewer = await tenant.ClientAsync("interviewer");
        var feedbackId = await StartAsync(tenant, interviewer);
        await SaveAsync(interviewer, feedbackId, CleanAnswers.Take(2).ToList(), null);
        var problem = await (await interviewer.PostJsonAsync($"/v1/feedback/{feedbackId}/submit", new { })).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "feedback-incomplete");
        Assert.Contains("system-design", problem.GetProperty("errors").GetProperty("answers")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Answers_must_fit_the_template()
    {
        var tenant = await api.CreateTenantAsync();
        var interviewer = await tenant.ClientAsync("interviewer");
        var feedbackId = await StartAsync(tenant, interviewer);
        var bad = new List<Answer>
        {
            new("problem-solving", "excellent", [], null),
            new("code-quality", "strong", ["You are a genius."], null),
            new("nonexistent", "strong", [], null),
            new("communication", "meets", [], new string('x', 601)),
        };
        var problem = await (await SaveAsync(interviewer, feedbackId, bad, null)).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        var paths = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["answers[0].band", "answers[1].phrases[0]", "answers[2].criterion", "answers[3].comment"], paths.Order().ToList());
        var stored = await (await interviewer.GetAsync($"/v1/feedback/{feedbackId}")).ReadAsync<FeedbackResponse>();
        Assert.Empty(stored.Answers);
        Assert.Equal(1, stored.Version);
    }

    [Fact]
    public async Task Two_saves_with_the_same_ETag_one_wins_and_the_other_gets_412()
    {
        var tenant = await api.CreateTenantAsync();
        var interviewer = await tenant.ClientAsync("interviewer");
        var feedbackId = await StartAsync(tenant, interviewer);
        var etag = (await interviewer.GetAsync($"/v1/feedback/{feedbackId}")).Headers.ETag;
        var results = await Task.WhenAll(
            SaveAsync(interviewer, feedbackId, CleanAnswers, etag),
            SaveAsync(interviewer, feedbackId, CleanAnswers.Take(1).ToList(), etag));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.PreconditionFailed], results.Select(r => r.StatusCode).Order());
        await results.Single(r => r.StatusCode == HttpStatusCode.PreconditionFailed).AssertProblemAsync(HttpStatusCode.PreconditionFailed, "stale-version");
        var stored = await (await interviewer.GetAsync($"/v1/feedback/{feedbackId}")).ReadAsync<FeedbackResponse>();
        Assert.Equal(2, stored.Version);
        await (await SaveAsync(interviewer, feedbackId, CleanAnswers, etag)).AssertProblemAsync(HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task A_save_stores_what_it_answers_makes_its_editor_an_author_and_records_one_event()
    {
        var tenant = await api.CreateTenantAsync();
        var interviewer = await tenant.ClientAsync("interviewer");
        var editor = await tenant.ClientAsync("recruiter");
        var feedbackId = await StartAsync(tenant, interviewer);
        var answers = CleanAnswers.Select((a, i) => i == 0 ? a with { Comment = "  Strong, but at her age she may not stay long.  " } : a).ToList();
        (await SaveAsync(interviewer, feedbackId, answers, null)).EnsureSuccessStatusCode();

        // A second author's save: everything it answers is what a fresh read returns (the timestamp as stored, to the microsecond).
        var saved = await SaveAsync(editor, feedbackId, answers, null);
        var answered = await saved.ReadAsync<FeedbackResponse>();
        var read = await interviewer.GetAsync($"/v1/feedback/{feedbackId}");
        var stored = await read.ReadAsync<FeedbackResponse>();
        Assert.Equal(saved.Headers.ETag, read.Headers.ETag);
        Assert.Equal(3, stored.Version);
        Assert.Equal("Strong, but at her age she may not stay long.", stored.Answers[0].Comment);
        Assert.Contains(stored.Findings, f => f.Path == "answers[0].comment" && f.Category == "age");
        Assert.Equal(JsonSerializer.Serialize(answered with { UpdatedAt = default }), JsonSerializer.Serialize(stored with { UpdatedAt = default }));
        Assert.True((answered.UpdatedAt - stored.UpdatedAt).Duration() < TimeSpan.FromMilliseconds(1));

        // The editor became an author: once the feedback is clean and submitted, they may not approve it.
        (await SaveAsync(interviewer, feedbackId, CleanAnswers, null)).EnsureSuccessStatusCode();
        (await interviewer.PostJsonAsync($"/v1/feedback/{feedbackId}/submit", new { })).EnsureSuccessStatusCode();
        await (await editor.PostAsync($"/v1/feedback/{feedbackId}/approve", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "own-feedback");

        var events = await (await tenant.Admin.GetAsync("/v1/audit?limit=100")).ReadAsync<Page<AuditEventResponse>>();
        var saves = events.Items.Where(e => e.Action == "feedback.saved").ToList();
        Assert.Equal(3, saves.Count);
        Assert.All(saves, e => Assert.Equal(feedbackId, e.SubjectId));
        Assert.Contains(saves, e => e.Data.Contains("\"version\":3", StringComparison.Ordinal) && e.Data.Contains("\"blocking\":1", StringComparison.Ordinal));
        Assert.All(events.Items, e => Assert.DoesNotContain("her age", e.Data, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Feedback_built_only_from_template_wording_is_approved_automatically_when_the_tenant_allows_it()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { AutoApproveTemplateOnly = true });
        var interviewer = await tenant.ClientAsync("interviewer");
        var feedbackId = await StartAsync(tenant, interviewer);
        await SaveAsync(interviewer, feedbackId, CleanAnswers.Select(a => a with { Comment = null }).ToList(), null);
        var result = await (await interviewer.PostJsonAsync($"/v1/feedback/{feedbackId}/submit", new { })).ReadAsync<FeedbackResponse>();
        Assert.Equal(FeedbackStatus.Approved, result.Status);
        Assert.True(result.AutoApproved);

        var withComment = await StartAsync(tenant, interviewer);
        await SaveAsync(interviewer, withComment, CleanAnswers, null);
        Assert.Equal(FeedbackStatus.Submitted, (await (await interviewer.PostJsonAsync($"/v1/feedback/{withComment}/submit", new { })).ReadAsync<FeedbackResponse>()).Status);
    }

    [Fact]
    public async Task One_feedback_per_application()
    {
        var tenant = await api.CreateTenantAsync();
        var interviewer = await tenant.ClientAsync("interviewer");
        var templateId = await TemplateLifecycleTests.PublishedTemplateAsync(tenant);
        var applicationId = await ApplicationAsync(tenant);
        var first = await (await interviewer.PostJsonAsync("/v1/feedback", new { applicationId, templateId })).ReadAsync<FeedbackResponse>(HttpStatusCode.Created);
        var problem = await (await interviewer.PostJsonAsync("/v1/feedback", new { applicationId, templateId })).AssertProblemAsync(HttpStatusCode.Conflict, "feedback-exists");
        Assert.Equal(first.Id, problem.GetProperty("feedbackId").GetGuid());
    }

    [Theory]
    [InlineData("a list naming the current version", "\"7\", \"2\"", HttpStatusCode.OK)]
    [InlineData("any", "*", HttpStatusCode.OK)]
    [InlineData("leading zero", "\"02\"", HttpStatusCode.PreconditionFailed)]
    [InlineData("weak tag (If-Match compares strongly)", "W/\"2\"", HttpStatusCode.PreconditionFailed)]
    [InlineData("a list without the current version", "\"1\", \"3\"", HttpStatusCode.PreconditionFailed)]
    [InlineData("not an entity tag", "2", HttpStatusCode.PreconditionFailed)]
    public async Task If_match_follows_RFC_9110(string why, string ifMatch, HttpStatusCode expected)
    {
        var tenant = await api.CreateTenantAsync();
        var interviewer = await tenant.ClientAsync("interviewer");
        var feedbackId = await StartAsync(tenant, interviewer);
        (await SaveAsync(interviewer, feedbackId, CleanAnswers, null)).EnsureSuccessStatusCode(); // now version 2
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/feedback/{feedbackId}/answers") { Content = HttpAssertions.JsonBody(new { answers = CleanAnswers }) };
        request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        var response = await interviewer.SendAsync(request);
        Assert.True(expected == response.StatusCode, $"{why}: {response.StatusCode}");
    }

    [Fact]
    public async Task Requesting_changes_without_a_comment_answers_422_naming_the_comment()
    {
        var (tenant, id, _) = await SubmittedFeedbackAsync("interviewer");
        var recruiter = await tenant.ClientAsync("recruiter");
        var problem = await (await recruiter.PostAsync($"/v1/feedback/{id}/request-changes", null)).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty("comment", out _));
        await (await recruiter.PostJsonAsync($"/v1/feedback/{id}/request-changes", new { })).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        Assert.Equal(FeedbackStatus.Submitted, (await (await recruiter.GetAsync($"/v1/feedback/{id}")).ReadAsync<FeedbackResponse>()).Status);
    }

    [Fact]
    public async Task Preview_is_the_email_with_every_value_encoded()
    {
        var tenant = await api.CreateTenantAsync("Acme <b>& Sons</b>");
        var interviewer = await tenant.ClientAsync("interviewer");
        var applicationId = await ApplicationAsync(tenant, firstName: "<script>alert(1)</script>", position: "Engineer \"Platform\" & Tools");
        var feedbackId = await StartAsync(tenant, interviewer, applicationId);
        var answers = CleanAnswers.Select((a, i) => i == 0 ? a with { Comment = "Good use of <img src=x onerror=alert(1)> tags & entities." } : a).ToList();
        await SaveAsync(interviewer, feedbackId, answers, null);

        var preview = await (await interviewer.GetAsync($"/v1/feedback/{feedbackId}/preview")).ReadAsync<EmailPreviewResponse>();
        Assert.Equal("Your interview feedback for Engineer \"Platform\" & Tools at Acme <b>& Sons</b>", preview.Subject);
        Assert.Contains("Dear <script>alert(1)</script>,", preview.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", preview.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", preview.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", preview.Html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", preview.Html, StringComparison.Ordinal);
        Assert.Contains("Problem solving", preview.Text, StringComparison.Ordinal);
        Assert.Contains("You kept functions small and focused.", preview.Html, StringComparison.Ordinal);
        Assert.Contains("Kind regards", preview.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_names_what_weighed_most_with_the_bands_given_and_ends_with_contact_and_privacy()
    {
        var tenant = await api.CreateTenantAsync("Acme", TenantSettings.Default with { ReplyTo = "talent@acme.example" });
        var interviewer = await tenant.ClientAsync("interviewer");
        var applicationId = await ApplicationAsync(tenant, position: "R&D <Platform> Engineer");
        var feedbackId = await StartAsync(tenant, interviewer, applicationId); // the example template: problem solving and system design decided
        await SaveAsync(interviewer, feedbackId, CleanAnswers, null);
        await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { privacyText = "We erase your data after a year; write to privacy@acme.example to have it erased sooner." }));

        var preview = await (await interviewer.GetAsync($"/v1/feedback/{feedbackId}/preview")).ReadAsync<EmailPreviewResponse>();
        const string Decided = """
            What weighed most in our decision
            For the R&D <Platform> Engineer role, these parts of the interviews counted most in our decision:
            - Problem solving: You reached a working approach, with some guidance on the harder parts of the problem.
            - System design: The design did not yet cover several core requirements of the exercise.
            """;
        Assert.Contains(Decided.ReplaceLineEndings("\n"), preview.Text, StringComparison.Ordinal);
        Assert.True(preview.Text.IndexOf("What weighed most", StringComparison.Ordinal) < preview.Text.IndexOf("Kind regards", StringComparison.Ordinal));
        Assert.EndsWith(
            "Kind regards,\nThe Acme hiring team\n\nQuestions about this feedback? Write to talent@acme.example.\n\nWe erase your data after a year; write to privacy@acme.example to have it erased sooner.\n",
            preview.Text, StringComparison.Ordinal);

        Assert.Contains("<h2 style=\"font-size:17px;margin:24px 0 4px\">What weighed most in our decision</h2>", preview.Html, StringComparison.Ordinal);
        Assert.Contains("For the R&amp;D &lt;Platform&gt; Engineer role", preview.Html, StringComparison.Ordinal);
        Assert.Contains("<li><strong>System design:</strong> The design did not yet cover several core requirements of the exercise.</li>", preview.Html, StringComparison.Ordinal);
        Assert.Contains("Questions about this feedback? Write to talent@acme.example.</p>", preview.Html, StringComparison.Ordinal);
        Assert.EndsWith("write to privacy@acme.example to have it erased sooner.</p></body></html>", preview.Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_refuses_a_merge_field_without_a_value()
    {
        var tenant = await api.CreateTenantAsync();
        var recruiter = await tenant.ClientAsync("recruiter");
        var request = TemplateLifecycleTests.Request(intro: "Dear {{candidate.first_name}}, on {{application.rejected_on}} we decided not to continue.");
        var created = await (await recruiter.PostJsonAsync("/v1/templates", request)).ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        await recruiter.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/submit", null);
        (await (await tenant.ClientAsync("legal")).PostAsync($"/v1/templates/{created.TemplateId}/versions/1/publish", null)).EnsureSuccessStatusCode();
        var interviewer = await tenant.ClientAsync("interviewer");
        var applicationId = await ApplicationAsync(tenant);
        var feedback = await (await interviewer.PostJsonAsync("/v1/feedback", new { applicationId, templateId = created.TemplateId })).ReadAsync<FeedbackResponse>(HttpStatusCode.Created);
        var problem = await (await interviewer.GetAsync($"/v1/feedback/{feedback.Id}/preview")).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "missing-merge-value");
        Assert.True(problem.GetProperty("errors").TryGetProperty("application.rejected_on", out _));
    }

    [Fact]
    public async Task Application_shows_its_feedback_state()
    {
        var (tenant, feedbackId, _) = await SubmittedFeedbackAsync("interviewer");
        await using var db = api.Database.CreateDbContext();
        var applicationId = db.Feedback.Single(f => f.Id == feedbackId).ApplicationId;
        var recruiter = await tenant.ClientAsync("recruiter");
        using var doc = JsonDocument.Parse(await (await recruiter.GetAsync($"/v1/applications/{applicationId}")).Content.ReadAsStringAsync());
        Assert.Equal(feedbackId, doc.RootElement.GetProperty("feedback").GetProperty("id").GetGuid());
        Assert.Equal("submitted", doc.RootElement.GetProperty("feedback").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Another_tenants_feedback_answers_404_on_every_operation_and_stays_unchanged()
    {
        var (owner, feedbackId, _) = await SubmittedFeedbackAsync("interviewer");
        var stranger = await api.CreateTenantAsync();
        var recruiter = await stranger.ClientAsync("recruiter", "interviewer");
        await (await recruiter.GetAsync($"/v1/feedback/{feedbackId}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await recruiter.GetAsync($"/v1/feedback/{feedbackId}/preview")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await SaveAsync(recruiter, feedbackId, CleanAnswers, null)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await recruiter.PostJsonAsync($"/v1/feedback/{feedbackId}/submit", new { })).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await recruiter.PostAsync($"/v1/feedback/{feedbackId}/approve", null)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await recruiter.PostJsonAsync($"/v1/feedback/{feedbackId}/request-changes", new { comment = "x" })).AssertProblemAsync(HttpStatusCode.NotFound);
        var list = await (await recruiter.GetAsync("/v1/feedback")).ReadAsync<Page<FeedbackSummary>>();
        Assert.Empty(list.Items);
        var stored = await (await (await owner.ClientAsync("legal")).GetAsync($"/v1/feedback/{feedbackId}")).ReadAsync<FeedbackResponse>();
        Assert.Equal(FeedbackStatus.Submitted, stored.Status);
    }

    [Fact]
    public async Task Feedback_cannot_start_from_another_tenants_template_or_application()
    {
        var mine = await api.CreateTenantAsync();
        var theirs = await api.CreateTenantAsync();
        var theirTemplate = await TemplateLifecycleTests.PublishedTemplateAsync(theirs);
        var theirApplication = await ApplicationAsync(theirs);
        var myTemplate = await TemplateLifecycleTests.PublishedTemplateAsync(mine);
        var myApplication = await ApplicationAsync(mine);
        var interviewer = await mine.ClientAsync("interviewer");
        await (await interviewer.PostJsonAsync("/v1/feedback", new { applicationId = myApplication, templateId = theirTemplate })).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await interviewer.PostJsonAsync("/v1/feedback", new { applicationId = theirApplication, templateId = myTemplate })).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    internal static Task<Guid> ApplicationAsync(TestTenant tenant, string firstName = "Ada", string position = "Backend Engineer") =>
        ApplicationSteps.ApplicationAsync(tenant, firstName, position);

    internal static async Task<Guid> StartAsync(TestTenant tenant, HttpClient author, Guid? applicationId = null)
    {
        var templateId = await TemplateLifecycleTests.PublishedTemplateAsync(tenant);
        var response = await author.PostJsonAsync("/v1/feedback", new { applicationId = applicationId ?? await ApplicationAsync(tenant), templateId });
        return (await response.ReadAsync<FeedbackResponse>(HttpStatusCode.Created)).Id;
    }

    private async Task<(TestTenant Tenant, Guid FeedbackId, HttpClient Author)> SubmittedFeedbackAsync(string authorRole)
    {
        var tenant = await api.CreateTenantAsync();
        var author = await tenant.ClientAsync(authorRole);
        var id = await StartAsync(tenant, author);
        (await SaveAsync(author, id, CleanAnswers, null)).EnsureSuccessStatusCode();
        (await author.PostJsonAsync($"/v1/feedback/{id}/submit", new { })).EnsureSuccessStatusCode();
        return (tenant, id, author);
    }

    internal static Task<HttpResponseMessage> SaveAsync(HttpClient client, Guid id, IReadOnlyList<Answer> answers, EntityTagHeaderValue? etag)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/feedback/{id}/answers") { Content = HttpAssertions.JsonBody(new { answers }) };
        if (etag is not null)
            request.Headers.IfMatch.Add(etag);
        return client.SendAsync(request);
    }

}
