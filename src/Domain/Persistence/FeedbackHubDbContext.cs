using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.People;
using FeedbackHub.Domain.Templates;
using FeedbackHub.Domain.Webhooks;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// The one unit of work of both hosts. It is also Identity's user store (<see cref="Person"/>, with their tokens and
/// logins) and the Data Protection key ring, so every replica shares sessions and tokens.
/// </summary>
/// <remarks>
/// The hosts take it from a pool (<see cref="PersistenceExtensions.AddFeedbackHubDatabase"/>): a pooled instance sees
/// no rows until <see cref="Rent"/> gives it the unit of work's tenant scope. Elsewhere, <see cref="Create"/>.
/// </remarks>
public sealed class FeedbackHubDbContext : IdentityUserContext<Person, Guid>, IDataProtectionKeyContext
{
    /// <summary>Webhook events raised by a save that failed (so a retried save does not raise them twice).</summary>
    private readonly HashSet<(object, string)> _raisedWebhooks = [];

    private ITenantScope _scope = NotRented.Instance;

    /// <summary>The process's cache of authenticated API keys, or null (a host that does not authenticate keys).</summary>
    private ApiKeyCache? _apiKeys;

    /// <summary>For the pool only (one public constructor taking the options is what EF Core's pooling needs).</summary>
    public FeedbackHubDbContext(DbContextOptions<FeedbackHubDbContext> options)
        : base(options)
    {
    }

    /// <summary>A context outside the pool (commands, tests, benchmarks) for a tenant scope.</summary>
    public static FeedbackHubDbContext Create(DbContextOptions<FeedbackHubDbContext> options, ITenantScope scope) =>
        new FeedbackHubDbContext(options).Rent(scope);

    /// <summary>
    /// Gives a context from the pool its unit of work's tenant scope (EF Core reset the rest when it returned) and, in a
    /// host that keeps them, the process's <see cref="Persistence.WebhookSubscriptionCache"/> and <see cref="ApiKeyCache"/>.
    /// </summary>
    public FeedbackHubDbContext Rent(ITenantScope scope, WebhookSubscriptionCache? webhookSubscriptions = null, ApiKeyCache? apiKeys = null)
    {
        ArgumentNullException.ThrowIfNull(scope);
        _scope = scope;
        _raisedWebhooks.Clear();
        SubscriptionCache = webhookSubscriptions;
        _apiKeys = apiKeys;
        return this;
    }

    /// <summary>The process's cache of webhook subscriptions, or null (every save that raises events queries them).</summary>
    internal WebhookSubscriptionCache? SubscriptionCache { get; private set; }

    public DbSet<Tenant> Tenants => Set<Tenant>();

    public DbSet<DkimKey> DkimKeys => Set<DkimKey>();

    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    public DbSet<AuditEvent> AuditEvents => Set<AuditEvent>();

    public DbSet<AuditCheckpoint> AuditCheckpoints => Set<AuditCheckpoint>();

    public DbSet<AuditTreeNode> AuditTreeNodes => Set<AuditTreeNode>();

    public DbSet<AuditSigningKey> AuditSigningKeys => Set<AuditSigningKey>();

    public DbSet<OutboxMessage> OutboxMessages => Set<OutboxMessage>();

    public DbSet<TestEmail> TestEmails => Set<TestEmail>();

    public DbSet<Template> Templates => Set<Template>();

    public DbSet<TemplateVersion> TemplateVersions => Set<TemplateVersion>();

    public DbSet<IdempotencyRecord> IdempotencyRecords => Set<IdempotencyRecord>();

    public DbSet<Feedback> Feedback => Set<Feedback>();

    public DbSet<TenantLanguageRule> TenantLanguageRules => Set<TenantLanguageRule>();

    public DbSet<FeedbackRequestLink> FeedbackRequestLinks => Set<FeedbackRequestLink>();

    public DbSet<FeedbackRequest> FeedbackRequests => Set<FeedbackRequest>();

    public DbSet<Delivery.Delivery> Deliveries => Set<Delivery.Delivery>();


    public DbSet<SuppressedAddress> SuppressedAddresses => Set<SuppressedAddress>();

    public DbSet<Invitation> Invitations => Set<Invitation>();

    public DbSet<Candidate> Candidates => Set<Candidate>();

    public DbSet<Application> Applications => Set<Application>();

    public DbSet<WebhookSubscription> WebhookSubscriptions => Set<WebhookSubscription>();

    public DbSet<WebhookEvent> WebhookEvents => Set<WebhookEvent>();

    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();

    /// <summary>Every outbound item of every channel (feedback emails, invitations, test emails, webhooks).</summary>
    public DbSet<OutboundItem> Outbound => Set<OutboundItem>();

    public DbSet<OutboundAttempt> OutboundAttempts => Set<OutboundAttempt>();

    /// <summary>People of every tenant (Identity's users). Unfiltered: signing in finds a person by email before any tenant is known.</summary>
    public DbSet<Person> People => Set<Person>();

    public DbSet<PersonEmail> PersonEmails => Set<PersonEmail>();

    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    /// <summary>Referenced by the global query filters; EF evaluates it per query.</summary>
    private Guid? ScopeTenantId => _scope.TenantId;

    /// <summary>
    /// Forgets every unsaved change and audit event, e.g. after a failed save before retrying the unit of work
    /// (a failed save rolls its transaction back but keeps what was pending).
    /// </summary>
    public void DiscardPendingChanges()
    {
        ChangeTracker.Clear();
        _raisedWebhooks.Clear();
    }

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder); // Identity's user tables
        builder.ApplyConfigurationsFromAssembly(typeof(FeedbackHubDbContext).Assembly);

        // Tenant isolation, fail-closed: a scoped unit of work sees only its tenant's rows.
        builder.Entity<ApiKey>().HasQueryFilter(k => ScopeTenantId == null || k.TenantId == ScopeTenantId);
        builder.Entity<AuditEvent>().HasQueryFilter(e => ScopeTenantId == null || e.TenantId == ScopeTenantId);
        builder.Entity<Candidate>().HasQueryFilter(c => ScopeTenantId == null || c.TenantId == ScopeTenantId);
        builder.Entity<Application>().HasQueryFilter(a => ScopeTenantId == null || a.TenantId == ScopeTenantId);
        builder.Entity<Feedback>().HasQueryFilter(f => ScopeTenantId == null || f.TenantId == ScopeTenantId);
        builder.Entity<TenantLanguageRule>().HasQueryFilter(r => ScopeTenantId == null || r.TenantId == ScopeTenantId);
        builder.Entity<DkimKey>().HasQueryFilter(k => ScopeTenantId == null || k.TenantId == ScopeTenantId);
        // Candidate-facing lookups (by token hash) run unscoped on purpose: the token is the credential.
        builder.Entity<FeedbackRequestLink>().HasQueryFilter(l => ScopeTenantId == null || l.TenantId == ScopeTenantId);
        builder.Entity<FeedbackRequest>().HasQueryFilter(r => ScopeTenantId == null || r.TenantId == ScopeTenantId);
        builder.Entity<OutboundItem>().HasQueryFilter(o => ScopeTenantId == null || o.TenantId == ScopeTenantId); // the channels' types inherit it
        builder.Entity<OutboundAttempt>().HasQueryFilter(a => ScopeTenantId == null || a.TenantId == ScopeTenantId);
        builder.Entity<SuppressedAddress>().HasQueryFilter(s => ScopeTenantId == null || s.TenantId == ScopeTenantId);
        builder.Entity<Template>().HasQueryFilter(t => ScopeTenantId == null || t.TenantId == ScopeTenantId);
        builder.Entity<TemplateVersion>().HasQueryFilter(v => ScopeTenantId == null || v.TenantId == ScopeTenantId);
        builder.Entity<IdempotencyRecord>().HasQueryFilter(r => ScopeTenantId == null || r.TenantId == ScopeTenantId);
        builder.Entity<WebhookSubscription>().HasQueryFilter(s => ScopeTenantId == null || s.TenantId == ScopeTenantId);
        builder.Entity<WebhookEvent>().HasQueryFilter(e => ScopeTenantId == null || e.TenantId == ScopeTenantId);

        // Ids are created in the domain (UUIDv7), never by the database: EF must treat a new entity with an id as new.
        foreach (var key in builder.Model.GetEntityTypes().Select(e => e.FindPrimaryKey()).OfType<Microsoft.EntityFrameworkCore.Metadata.IMutableKey>())
        {
            if (key.Properties is [{ ClrType: var type } single] && type == typeof(Guid))
                single.ValueGenerated = Microsoft.EntityFrameworkCore.Metadata.ValueGenerated.Never;
        }

        SnakeCaseNames.Apply(builder);
    }

    /// <summary>Only for Data Protection's key ring, which saves synchronously and raises nothing; everything else saves async.</summary>
    public override int SaveChanges(bool acceptAllChangesOnSuccess) =>
        ChangeTracker.Entries().All(e => e.State == EntityState.Unchanged || e.Entity is DataProtectionKey)
            ? base.SaveChanges(acceptAllChangesOnSuccess)
            : throw new InvalidOperationException("Use SaveChangesAsync: it raises webhook events.");

    /// <summary>
    /// Saves the unit of work. Webhook events are raised first from the tracked changes (<see cref="WebhookRaising"/>), so
    /// they are written in the same transaction. Audit events are plain inserts: no lock, no chain to extend; the sealer
    /// places them in the tenant's Merkle tree afterwards (<see cref="AuditSealer"/>).
    /// </summary>
    /// <remarks>
    /// A save that adds, changes or removes webhook subscriptions then notifies <see cref="WebhookSubscriptionCache.Channel"/>
    /// with each tenant's id: inside the caller's transaction PostgreSQL delivers it when that commits (never if it rolls
    /// back), otherwise right after the save's own commit. Every process's cache evicts the tenant then. A save that adds
    /// outbound items due at once notifies <see cref="OutboundWakeUps.Channel"/> the same way, in the same statement, and
    /// the worker's dispatchers claim them without waiting for their poll.
    /// A save that changes or deletes API keys (a revocation, whichever code path made it) evicts them from this process's
    /// <see cref="ApiKeyCache"/> at once, so the next request here is refused without waiting for <c>api_key_changed</c>,
    /// which reaches every replica at commit (inside a caller's transaction, that notification is what evicts a read made
    /// between this save and the commit).
    /// </remarks>
    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        // Changes are detected once, here: each scan of the tracked entries below and the save itself would otherwise
        // detect them again, a pass over every tracked entity and property each (four or five per save, a batch of the
        // worker's a few hundred entities). The scans only add entities (webhook events and their deliveries), which
        // are tracked as added without detection.
        var detect = ChangeTracker.AutoDetectChangesEnabled;
        if (detect)
            ChangeTracker.DetectChanges();
        ChangeTracker.AutoDetectChangesEnabled = false;
        try
        {
            await WebhookRaising.RaiseAsync(this, _raisedWebhooks, cancellationToken);
            var subscriptionTenants = ChangeTracker.Entries<WebhookSubscription>()
                .Where(e => e.State is EntityState.Added or EntityState.Modified or EntityState.Deleted)
                .Select(e => e.Entity.TenantId).Distinct().ToList();
            var changedKeys = _apiKeys is null
                ? []
                : ChangeTracker.Entries<ApiKey>().Where(e => e.State is EntityState.Modified or EntityState.Deleted).Select(e => e.Entity.Prefix).ToList();
            var toWake = OutboundWakeUps.ToWake(ChangeTracker);
            var saved = await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
            _raisedWebhooks.Clear();
            foreach (var prefix in changedKeys)
                _apiKeys!.Evict(prefix);
            if (subscriptionTenants.Count + toWake.Count > 0)
            {
                // One round trip for every notification of the save.
                var channels = subscriptionTenants.Select(_ => WebhookSubscriptionCache.Channel).Concat(toWake.Select(_ => OutboundWakeUps.Channel)).ToArray();
                var payloads = subscriptionTenants.Select(t => t.ToString()).Concat(toWake).ToArray();
                await Database.ExecuteSqlAsync($"SELECT pg_notify(n.channel, n.payload) FROM unnest({channels}, {payloads}) AS n(channel, payload)", cancellationToken);
            }

            return saved;
        }
        finally
        {
            ChangeTracker.AutoDetectChangesEnabled = detect;
        }
    }
}

/// <summary>The scope of a pooled context nobody rented: fails closed (no query runs) instead of seeing every tenant.</summary>
file sealed class NotRented : ITenantScope
{
    public static NotRented Instance { get; } = new();

    public Guid? TenantId => throw new InvalidOperationException("This FeedbackHubDbContext was not given a tenant scope (FeedbackHubDbContext.Rent).");
}
