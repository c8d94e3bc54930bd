using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.People;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Rendering;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Domain.Authoring;

/// <summary>
/// Writing and reviewing feedback (start, save, submit, approve, request changes, preview): the use cases the API's
/// endpoints and the web app's pages both call. Each takes the caller's tenant and <see cref="Actor"/>, checks the
/// expected version where the feedback already exists, records its audit events and saves; approval (by a reviewer
/// or automatic at submit) schedules the delivery under the application's lock when the candidate already asked.
/// </summary>
public sealed class FeedbackAuthoring(
    FeedbackHubDbContext db, AuditLog audit, TenantLanguage language, PublishedTemplateContent templates, TimeProvider time,
    IOptions<PublicLinkOptions> links, PersonNotifications notifications)
{
    /// <summary>Starts feedback for an application from a template version (default: the published one).</summary>
    /// <exception cref="DomainException">404 application or template; 409 <c>feedback-exists</c> (with <c>feedbackId</c>) or <c>candidate-erased</c>; 422 <c>template-not-published</c>.</exception>
    public async Task<Feedback> StartAsync(Guid applicationId, Guid templateId, int? templateVersion, Guid tenantId, Actor actor, CancellationToken ct)
    {
        var application = await db.Applications.AsNoTracking().SingleOrDefaultAsync(a => a.Id == applicationId, ct)
            ?? throw DomainException.NotFound("The application");
        var template = await db.Templates.AsNoTracking().Include(t => t.Versions).SingleOrDefaultAsync(t => t.Id == templateId, ct)
            ?? throw DomainException.NotFound("The template");
        var version = templateVersion is { } n ? template.Version(n)
            : template.Published ?? throw DomainException.Invalid("template-not-published", "The template has no published version yet.");
        if (await db.Feedback.Where(f => f.ApplicationId == application.Id).Select(f => (Guid?)f.Id).SingleOrDefaultAsync(ct) is { } existing)
            throw FeedbackExists(existing);
        await EnsureCandidateNotErasedAsync(application.Id, ct);

        var feedback = Feedback.Start(tenantId, application.Id, version, actor, time.GetUtcNow());
        db.Feedback.Add(feedback);
        audit.Record(tenantId, actor, "feedback.started", "feedback", feedback.Id,
            new { applicationId = application.Id, templateId = template.Id, templateVersion = version.Number });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.InnerException is Npgsql.PostgresException { SqlState: "23505" })
        {
            // Someone else started it at the same moment: point to theirs.
            db.ChangeTracker.Clear();
            throw FeedbackExists(await db.Feedback.Where(f => f.ApplicationId == application.Id).Select(f => f.Id).SingleAsync(ct));
        }

        return feedback;
    }

    /// <summary>The feedback, or 404.</summary>
    public async Task<Feedback> GetAsync(Guid id, CancellationToken ct) =>
        await db.Feedback.AsNoTracking().SingleOrDefaultAsync(f => f.Id == id, ct) ?? throw DomainException.NotFound("The feedback");

    /// <summary>
    /// Saves the answers and checks their free text with the tenant's full engine (rules and sentence model), so submit
    /// decides on these findings; sentences the live check already saw are not embedded again (cache).
    /// </summary>
    /// <remarks>
    /// The hottest write: the feedback is read untracked and written with its audit event in one statement
    /// (<see cref="FeedbackSaves.WriteAsync"/>), so a save is two round trips and no change tracking. A save changes no state that
    /// raises webhook events (it never approves).
    /// </remarks>
    public async Task<Feedback> SaveAnswersAsync(Guid id, ExpectedVersion expected, IReadOnlyList<Answer> answers, Guid tenantId, Actor actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var row = await WritableByIdUntracked(db, id, ct);
        var (feedback, tenant) = Writable(row);
        feedback.CheckVersion(expected.Readable());
        var readVersion = feedback.Version;
        var template = await templates.GetAsync(db, feedback.TenantId, feedback.TemplateId, feedback.TemplateVersion, ct);
        var checker = await language.CheckerAsync(db, tenantId, tenant, LanguageEngine.Full, ct);
        feedback.Save(answers, template, actor, time.GetUtcNow(), fields => language.Check(checker, fields, "answers"));
        var saved = audit.Prepare(actor, [(tenantId, new AuditEntry("feedback.saved", "feedback", feedback.Id,
            new { version = feedback.Version, findings = feedback.Findings.Count, blocking = feedback.Findings.Count(f => f.Finding.Severity == Severity.Block) }))])[0];
        await FeedbackSaves.WriteAsync(db, feedback, readVersion, saved, ct);
        return feedback;
    }

    /// <summary>Submits for approval; feedback built only from template wording is approved at once when the tenant allows it.</summary>
    public async Task<Feedback> SubmitAsync(
        Guid id, ExpectedVersion expected, IReadOnlyList<AcknowledgementRequest> acknowledgements, Guid tenantId, Actor actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var (feedback, tenant) = await LoadWritableWithTenantAsync(id, ct);
        feedback.CheckVersion(expected.Readable());
        var template = await templates.GetAsync(db, feedback.TenantId, feedback.TemplateId, feedback.TemplateVersion, ct);
        var auto = feedback.Submit(acknowledgements, template, actor, time.GetUtcNow(), tenant.Settings.AutoApproveTemplateOnly);
        audit.Record(tenantId, actor, "feedback.submitted", "feedback", feedback.Id,
            new { version = feedback.Version, acknowledged = feedback.Acknowledgements.Count });
        if (auto)
            audit.Record(tenantId, Actor.System, "feedback.approved", "feedback", feedback.Id, new { automatic = true });
        else
            await notifications.FeedbackSubmittedAsync(feedback, actor, ct);
        await SaveAndScheduleAsync(feedback, auto, ct);
        return feedback;
    }

    /// <summary>Approves submitted feedback (never by one of its authors) and schedules its delivery if the candidate asked.</summary>
    public async Task<Feedback> ApproveAsync(Guid id, ExpectedVersion expected, Guid tenantId, Actor actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var feedback = await LoadAsync(id, ct);
        feedback.CheckVersion(expected.Readable());
        feedback.Approve(actor, time.GetUtcNow());
        audit.Record(tenantId, actor, "feedback.approved", "feedback", feedback.Id, new { automatic = false });
        await SaveAndScheduleAsync(feedback, approved: true, ct);
        return feedback;
    }

    /// <summary>Sends submitted feedback back to its authors with a comment (required).</summary>
    public async Task<Feedback> RequestChangesAsync(Guid id, ExpectedVersion expected, string? comment, Guid tenantId, Actor actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var feedback = await LoadWritableAsync(id, ct);
        feedback.CheckVersion(expected.Readable());
        feedback.RequestChanges(actor, comment, time.GetUtcNow());
        audit.Record(tenantId, actor, "feedback.changes-requested", "feedback", feedback.Id);
        await notifications.ChangesRequestedAsync(feedback, actor, ct);
        await db.SaveChangesAsync(ct);
        return feedback;
    }

    /// <summary>Exactly the email the candidate would receive, rendered by the renderer the worker sends with.</summary>
    /// <exception cref="DomainException">404; 422 <c>missing-merge-value</c> (e.g. no rejection date yet).</exception>
    public async Task<RenderedEmail> PreviewAsync(Guid id, Guid tenantId, CancellationToken ct)
    {
        var feedback = await LoadAsync(id, ct);
        var template = await templates.GetAsync(db, feedback.TenantId, feedback.TemplateId, feedback.TemplateVersion, ct);
        var recipient = await DeliveryScheduling.RecipientAsync(db, tenantId, feedback.ApplicationId, ct);
        return FeedbackEmailRenderer.Render(template, feedback.Answers, recipient.MergeValues, recipient.Footer);
    }

    /// <summary>Saves; approved feedback whose candidate already asked gets its delivery scheduled in the same transaction.</summary>
    private async Task SaveAndScheduleAsync(Feedback feedback, bool approved, CancellationToken ct)
    {
        if (!approved)
        {
            await db.SaveChangesAsync(ct);
            return;
        }

        var now = time.GetUtcNow();
        await db.WithApplicationLockAsync(feedback.ApplicationId, application =>
            DeliveryScheduling.SaveAndTryScheduleAsync(db, audit, application, feedback.TenantId, links.Value.MessageIdDomain, now, ct), ct);
    }

    /// <summary>409 <c>feedback-exists</c> with the existing feedback's id (<c>feedbackId</c>) to continue it.</summary>
    private static DomainException FeedbackExists(Guid existing) =>
        new(DomainErrorKind.Conflict, "feedback-exists", "This application already has feedback; continue it instead (see feedbackId).")
        {
            Extensions = new Dictionary<string, object?> { ["feedbackId"] = existing },
        };

    private async Task<Feedback> LoadAsync(Guid id, CancellationToken ct) =>
        await db.Feedback.SingleOrDefaultAsync(f => f.Id == id, ct) ?? throw DomainException.NotFound("The feedback");

    /// <summary>
    /// The feedback (tracked), whether its candidate was erased, and the tenant's language revision and settings: one
    /// round trip, compiled once (the save path's hottest read skips EF's per-call expression building and query-cache
    /// lookup; the tenant filter still applies, read from the context it runs on).
    /// </summary>
    private static readonly Func<FeedbackHubDbContext, Guid, CancellationToken, Task<WritableRow?>> WritableById = CompileWritable(tracked: true);

    /// <summary>As <see cref="WritableById"/>, untracked: for the save, which writes its own statement.</summary>
    private static readonly Func<FeedbackHubDbContext, Guid, CancellationToken, Task<WritableRow?>> WritableByIdUntracked = CompileWritable(tracked: false);

    private static Func<FeedbackHubDbContext, Guid, CancellationToken, Task<WritableRow?>> CompileWritable(bool tracked) =>
        EF.CompileAsyncQuery((FeedbackHubDbContext db, Guid id, CancellationToken ct) => (
                from f in db.Feedback.AsTracking(tracked ? QueryTrackingBehavior.TrackAll : QueryTrackingBehavior.NoTracking)
                join t in db.Tenants on f.TenantId equals t.Id
                where f.Id == id
                select new WritableRow(
                    f,
                    (from a in db.Applications
                     join c in db.Candidates on a.CandidateId equals c.Id
                     where a.Id == f.ApplicationId
                     select c.ErasedAt).FirstOrDefault() != null,
                    new TenantLanguageState(t.LanguageRulesRevision, t.Settings)))
            .SingleOrDefault());

    private sealed record WritableRow(Feedback Feedback, bool Erased, TenantLanguageState Tenant);

    private async Task<Feedback> LoadWritableAsync(Guid id, CancellationToken ct) => (await LoadWritableWithTenantAsync(id, ct)).Feedback;

    /// <summary>
    /// As <see cref="LoadWritableAsync"/>, with the tenant's language revision and settings, in one round trip (the
    /// save path's hottest read).
    /// </summary>
    private async Task<(Feedback Feedback, TenantLanguageState Tenant)> LoadWritableWithTenantAsync(Guid id, CancellationToken ct) =>
        Writable(await WritableById(db, id, ct));

    /// <summary>404 when there is no such feedback (in the tenant), 409 <c>candidate-erased</c> when its candidate was erased.</summary>
    private static (Feedback Feedback, TenantLanguageState Tenant) Writable(WritableRow? row)
    {
        if (row is null)
            throw DomainException.NotFound("The feedback");
        if (row.Erased)
            throw CandidateErased();
        return (row.Feedback, row.Tenant);
    }

    /// <summary>
    /// 409 <c>candidate-erased</c>: nothing more is written about an erased candidate. A write racing the erasure
    /// fails on the feedback's version (the erasure moves it).
    /// </summary>
    private async Task EnsureCandidateNotErasedAsync(Guid applicationId, CancellationToken ct)
    {
        var erasedAt = await (
            from a in db.Applications
            join c in db.Candidates on a.CandidateId equals c.Id
            where a.Id == applicationId
            select c.ErasedAt).SingleOrDefaultAsync(ct);
        if (erasedAt is not null)
            throw CandidateErased();
    }

    private static DomainException CandidateErased() =>
        DomainException.Conflict("candidate-erased", "The candidate's personal data was erased; no more feedback is written about them.");
}
