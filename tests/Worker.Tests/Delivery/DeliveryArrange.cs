using FeedbackHub.Domain.Persistence;
using FeedbackHub.Api.Commands;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Templates;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Worker.Tests.Delivery;

/// <summary>The API and the worker (with short delivery timings) on one per-class database and broker prefix.</summary>
public class DeliveryFixture : IAsyncLifetime
{
    public ApiFactory Api { get; } = new();

    public WorkerHost Worker { get; private set; } = null!;

    public string Prefix { get; } = "t" + Guid.NewGuid().ToString("N")[..10];

    protected virtual int MaxAttempts => 6;

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        Worker = await WorkerHost.StartAsync(Api.Database.ConnectionString, Prefix, WorkerSettings(MaxAttempts));
    }

    public static Dictionary<string, string?> WorkerSettings(int maxAttempts) => new()
    {
        ["Delivery:FirstBackoff"] = "00:00:01",
        ["Delivery:ServerProblemRetry"] = "00:00:02",
        ["Delivery:SendingLease"] = "00:00:05",
        ["Delivery:RecoveryInterval"] = "00:00:01",
        ["Delivery:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public async Task DisposeAsync()
    {
        await Worker.DisposeAsync();
        await ((IAsyncLifetime)Api).DisposeAsync();
    }
}

/// <summary>One tenant's arranged data: rejected applications with approved feedback and a request, scheduled for delivery.</summary>
public sealed class DeliveryArrange(TestDatabase database, Guid tenantId)
{
    public const string MessageIdDomain = "feedbackhub.test";

    private static readonly Actor Author = new(Guid.NewGuid(), "Author");

    private static readonly Actor Reviewer = new(Guid.NewGuid(), "Reviewer");

    private TemplateVersion? _template;

    public Guid TenantId => tenantId;

    /// <summary>The tenant with its admin key (set when it was created by <see cref="TenantAsync"/>).</summary>
    public TestTenant? Tenant { get; private init; }

    public static async Task<DeliveryArrange> TenantAsync(
        ApiFactory api, TimeSpan? coolingOff = null, string? replyTo = "talent@acme.example", string senderAddress = "feedback@acme.example")
    {
        var tenant = await api.CreateTenantAsync("Acme " + Guid.NewGuid().ToString("N")[..6], TenantSettings.Default with
        {
            CoolingOffDelay = coolingOff ?? TimeSpan.Zero,
            SenderName = "Acme Talent",
            SenderAddress = senderAddress,
            ReplyTo = replyTo,
        });
        return new DeliveryArrange(api.Database, tenant.Id) { Tenant = tenant };
    }

    /// <summary>The tenant's audit events, oldest first.</summary>
    public async Task<List<Domain.Auditing.AuditEvent>> AuditAsync()
    {
        await using var db = database.CreateDbContext();
        return await db.AuditEvents.AsNoTracking().Where(e => e.TenantId == tenantId).OrderBy(e => e.Position).ToListAsync();
    }

    /// <summary>
    /// A candidate (first name Ada) rejected now, approved feedback and a request; the delivery is scheduled like the
    /// API schedules it. With <paramref name="interrupted"/>, the delivery is left Sending with an expired lease and no
    /// message (as if a worker died mid-attempt).
    /// </summary>
    public async Task<Domain.Delivery.Delivery> DeliveryAsync(string email, bool interrupted = false) =>
        (await DeliveriesAsync([email], interrupted))[0];

    /// <summary>
    /// Rejected applications (rejected now) whose candidate asked for feedback and whose feedback is submitted, not yet
    /// approved: approving it schedules the delivery.
    /// </summary>
    public async Task<IReadOnlyList<Story>> SubmittedStoriesAsync(IReadOnlyList<string> emails)
    {
        var now = DateTimeOffset.UtcNow;
        await using var db = database.CreateDbContext();
        var template = await TemplateAsync(db, now);
        var stories = new List<Story>();
        foreach (var email in emails)
        {
            var external = "ext-" + Guid.NewGuid().ToString("N")[..12];
            var candidate = Candidate.Create(tenantId, new CandidateDetails("c-" + external, "Ada", "Lovelace", email, null), now);
            var application = Application.Create(tenantId, external, candidate.Id, new ApplicationDetails("Backend Engineer", null, null), now);
            application.Reject(now, now);
            var feedback = Feedback.Start(tenantId, application.Id, template, Author, now);
            feedback.Save(template.Content.Criteria.Select(c => new Answer(c.Key, c.Bands[0].Key)).ToList(), template.Content, Author, now, _ => []);
            feedback.Submit([], template.Content, Author, now, autoApproveTemplateOnly: false);
            db.AddRange(candidate, application, feedback, FeedbackRequest.Create(tenantId, application.Id, null, now));
            stories.Add(new Story(application.Id, external, feedback.Id, candidate.ExternalId, email));
        }

        await db.SaveChangesAsync();
        return stories;
    }

    /// <summary>One arranged application: its ids, its ATS ids and the candidate's address.</summary>
    public sealed record Story(Guid ApplicationId, string ExternalId, Guid FeedbackId, string CandidateExternalId, string Email);

    private async Task<TemplateVersion> TemplateAsync(FeedbackHubDbContext db, DateTimeOffset now)
    {
        if (_template is not null)
            return _template;
        var (name, content) = ExampleTemplates.Engineering;
        var template = Template.Create(tenantId, name, "en", content, Author, now);
        template.Latest.Submit(now);
        template.Publish(template.Latest.Number, Reviewer, now);
        db.Templates.Add(template);
        await db.SaveChangesAsync();
        return _template = template.Published!;
    }

    /// <summary>As <see cref="DeliveryAsync"/>, for many addresses in two transactions (fast arrangement of batches).</summary>
    public async Task<IReadOnlyList<Domain.Delivery.Delivery>> DeliveriesAsync(IReadOnlyList<string> emails, bool interrupted = false)
    {
        var now = DateTimeOffset.UtcNow;
        await using var db = database.CreateDbContext();
        _template = await TemplateAsync(db, now);

        var applications = new List<Guid>();
        foreach (var email in emails)
        {
            var external = "ext-" + Guid.NewGuid().ToString("N")[..12];
            var candidate = Candidate.Create(tenantId, new CandidateDetails(external, "Ada", "Lovelace", email, null), now);
            var application = Application.Create(tenantId, external, candidate.Id, new ApplicationDetails("Backend Engineer", null, null), now);
            application.Reject(now, now);
            var feedback = Feedback.Start(tenantId, application.Id, _template, Author, now);
            var answers = _template.Content.Criteria.Select(c => new Answer(c.Key, c.Bands[0].Key)).ToList();
            feedback.Save(answers, _template.Content, Author, now, _ => []);
            feedback.Submit([], _template.Content, Author, now, autoApproveTemplateOnly: false);
            feedback.Approve(Reviewer, now);
            db.Candidates.Add(candidate);
            db.Applications.Add(application);
            db.Feedback.Add(feedback);
            db.FeedbackRequests.Add(FeedbackRequest.Create(tenantId, application.Id, null, now));
            applications.Add(application.Id);
        }

        await db.SaveChangesAsync();

        await using var tx = await db.Database.BeginTransactionAsync();
        var deliveries = new List<Domain.Delivery.Delivery>();
        foreach (var applicationId in applications)
        {
            var application = await DeliveryScheduling.LockApplicationAsync(db, applicationId, CancellationToken.None);
            var delivery = await DeliveryScheduling.TryScheduleAsync(db, application, tenantId, MessageIdDomain, DateTimeOffset.UtcNow, CancellationToken.None)
                ?? throw new InvalidOperationException("The delivery was not scheduled.");
            deliveries.Add(delivery);
        }

        if (interrupted)
        {
            foreach (var entry in db.ChangeTracker.Entries<OutboxMessage>().Where(e => e.State == EntityState.Added).ToList())
                entry.State = EntityState.Detached;
        }

        await db.SaveChangesAsync();
        if (!interrupted)
        {
            await tx.CommitAsync();
            return deliveries;
        }

        // As if a worker had claimed them a minute ago and died: Sending, the lease run out, no message. Claimed in the
        // scheduling transaction, so the dispatcher (it polls the table) never sees them Scheduled and claims them first.
        var claimed = new List<Domain.Delivery.Delivery>();
        foreach (var locked in await OutboundLocks.LockManyAsync<Domain.Delivery.Delivery>(db, [.. deliveries.Select(d => d.Id)], CancellationToken.None))
        {
            Assert.NotNull(locked.Item.TryClaim(locked.Guard, DateTimeOffset.UtcNow - TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5)));
            claimed.Add(locked.Item);
        }

        await db.SaveChangesAsync();
        await tx.CommitAsync();
        return [.. deliveries.Select(d => claimed.Single(c => c.Id == d.Id))];
    }

    /// <summary>Moves a scheduled delivery (and its outbox message) to another due time.</summary>
    public async Task RescheduleAsync(Guid deliveryId, DateTimeOffset dueAt)
    {
        await using var db = database.CreateDbContext();
        var id = deliveryId.ToString();
        var pattern = "%" + id + "%";
        await db.Database.ExecuteSqlAsync($"UPDATE outbound SET due_at = {dueAt} WHERE id = {deliveryId}");
        await db.Database.ExecuteSqlAsync($"UPDATE outbox_messages SET due_at = {dueAt} WHERE body::text LIKE {pattern}");
    }

    /// <summary>Makes every scheduled delivery of the tenant (and its outbox message) due now.</summary>
    public async Task MakeAllDueAsync()
    {
        await using var db = database.CreateDbContext();
        var now = DateTimeOffset.UtcNow;
        await db.Database.ExecuteSqlAsync($"UPDATE outbound SET due_at = {now} WHERE tenant_id = {tenantId} AND status = 'Scheduled'");
        await db.Database.ExecuteSqlAsync($"UPDATE outbox_messages SET due_at = {now} WHERE tenant_id = {tenantId}");
    }

    public async Task<List<Domain.Delivery.Delivery>> LoadAllAsync()
    {
        await using var db = database.CreateDbContext();
        return await db.Deliveries.AsNoTracking().Include(d => d.Attempts).Where(d => d.TenantId == tenantId).ToListAsync();
    }

    /// <summary>Waits until every delivery of the tenant is Sent (or the time is up) and returns them.</summary>
    public async Task<List<Domain.Delivery.Delivery>> WaitForAllSentAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var all = await LoadAllAsync();
            if (all.Count == count && all.All(d => d.Status == OutboundStatus.Sent))
                return all;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{all.Count(d => d.Status == OutboundStatus.Sent)} of {count} deliveries were sent in time.");
            await Task.Delay(200);
        }
    }

    public async Task<Domain.Delivery.Delivery> LoadAsync(Guid deliveryId)
    {
        await using var db = database.CreateDbContext();
        return await db.Deliveries.AsNoTracking().Include(d => d.Attempts).SingleAsync(d => d.Id == deliveryId);
    }

    /// <summary>Waits until the delivery reaches the status (and returns it with its attempts ordered by number).</summary>
    public async Task<Domain.Delivery.Delivery> WaitForStatusAsync(Guid deliveryId, OutboundStatus status, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var delivery = await LoadAsync(deliveryId);
            if (delivery.Status == status)
                return delivery;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Delivery {deliveryId} is {delivery.Status}, not {status}; last reply: {delivery.LastReply}");
            await Task.Delay(100);
        }
    }

    /// <summary>How many messages the sink accepted per recipient, for recipients containing the tag (one pass over the folder).</summary>
    public static Dictionary<string, int> MailCounts(string tag, DateTime? sinceUtc = null)
    {
        var since = (sinceUtc ?? System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime()).AddSeconds(-2);
        var counts = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var folder = Path.Combine(TestServices.SmtpDirectory, "mail");
        if (!Directory.Exists(folder))
            return counts;
        foreach (var info in new DirectoryInfo(folder).EnumerateFiles("*.eml"))
        {
            if (info.LastWriteTimeUtc < since)
                continue;
            var file = info.FullName;
            string raw;
            try
            {
                raw = File.ReadAllText(file);
            }
            catch (IOException)
            {
                continue;
            }

            if (!raw.Contains(tag, StringComparison.OrdinalIgnoreCase))
                continue;
            foreach (var to in new CapturedMail(file, raw).EnvelopeTo.Where(a => a.Contains(tag, StringComparison.OrdinalIgnoreCase)))
                counts[to] = counts.GetValueOrDefault(to) + 1;
        }

        return counts;
    }

    public static IReadOnlyList<AttemptOutcome> Outcomes(Domain.Delivery.Delivery delivery) =>
        delivery.Attempts.OrderBy(a => a.Number).Select(a => a.Outcome).ToList();
}
