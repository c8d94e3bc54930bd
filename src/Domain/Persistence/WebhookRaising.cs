using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// Raises webhook events from the unit of work being saved, so every code path that changes these states raises
/// them (API, worker consumers, recovery, erasure) without knowing about webhooks: a new
/// <see cref="FeedbackRequest"/> (feedback.requested), feedback that became Approved (feedback.approved), a delivery
/// that became Sent, Failed or Cancelled (delivery.sent/failed/cancelled). For every enabled subscription of the
/// tenant to that type it adds the event and a delivery (due now), in the same transaction as the change; the worker's
/// webhook dispatcher finds due deliveries in the table itself, so no message is queued per delivery. A save without such a change costs no query; one with such changes costs one query
/// for the subscriptions (none when the process's <see cref="WebhookSubscriptionCache"/> holds the tenant), plus one for
/// the application's ids when something is subscribed.
/// </summary>
internal static class WebhookRaising
{
    private sealed record Raised(object Source, Guid TenantId, string Type, DateTimeOffset OccurredAt, Guid ApplicationId, Func<Refs, WebhookEventData> Data);

    private sealed record Refs(string? ApplicationExternalId, Guid? CandidateId, string? CandidateExternalId);

    /// <param name="alreadyRaised">Sources raised by an earlier, failed save of this unit of work (not raised twice).</param>
    public static async Task RaiseAsync(FeedbackHubDbContext db, HashSet<(object, string)> alreadyRaised, CancellationToken ct)
    {
        List<Raised>? raised = null;
        Dictionary<Guid, Application>? trackedApplications = null;
        Dictionary<Guid, Candidate>? trackedCandidates = null;
        foreach (var entry in db.ChangeTracker.Entries())
        {
            switch (entry.Entity)
            {
                case FeedbackRequest r when entry.State == EntityState.Added:
                    Add(ref raised, alreadyRaised, new Raised(r, r.TenantId, WebhookEventTypes.FeedbackRequested, r.RequestedAt, r.ApplicationId,
                        refs => Data(r.ApplicationId, refs) with { RequestId = r.Id }));
                    break;
                case Feedback f when f.Status == FeedbackStatus.Approved && BecameStatus(entry, nameof(Feedback.Status)):
                    Add(ref raised, alreadyRaised, new Raised(f, f.TenantId, WebhookEventTypes.FeedbackApproved, f.ApprovedAt ?? f.UpdatedAt, f.ApplicationId,
                        refs => Data(f.ApplicationId, refs) with { FeedbackId = f.Id }));
                    break;
                case Delivery.Delivery d when d.Status is OutboundStatus.Sent or OutboundStatus.Failed or OutboundStatus.Cancelled
                                              && BecameStatus(entry, nameof(Delivery.Delivery.Status)):
                    var type = d.Status switch
                    {
                        OutboundStatus.Sent => WebhookEventTypes.DeliverySent,
                        OutboundStatus.Failed => WebhookEventTypes.DeliveryFailed,
                        _ => WebhookEventTypes.DeliveryCancelled,
                    };
                    var status = d.Status.ToString().ToLowerInvariant();
                    var reason = d.Status == OutboundStatus.Failed ? FailureReason(d) : null;
                    Add(ref raised, alreadyRaised, new Raised(d, d.TenantId, type, d.UpdatedAt, d.ApplicationId,
                        refs => Data(d.ApplicationId, refs) with { DeliveryId = d.Id, RequestId = d.RequestId, FeedbackId = d.FeedbackId, Status = status, Reason = reason }));
                    break;
                case Application a:
                    (trackedApplications ??= [])[a.Id] = a;
                    break;
                case Candidate c:
                    (trackedCandidates ??= [])[c.Id] = c;
                    break;
            }
        }

        if (raised is null)
            return;
        await AddEventsAsync(db, raised, alreadyRaised, trackedApplications, trackedCandidates, ct);
    }

    /// <summary>
    /// Raises delivery.cancelled for deliveries cancelled by a set-based statement (the erasure), which the change tracker
    /// never sees: the same events, with the same data, as <see cref="RaiseAsync"/> raises for a tracked cancellation.
    /// </summary>
    public static Task RaiseCancelledAsync(FeedbackHubDbContext db, Guid tenantId, IReadOnlyList<CancelledDelivery> deliveries, DateTimeOffset at, CancellationToken ct)
    {
        if (deliveries.Count == 0)
            return Task.CompletedTask;
        var raised = deliveries.Select(d => new Raised(d, tenantId, WebhookEventTypes.DeliveryCancelled, at, d.ApplicationId,
            refs => Data(d.ApplicationId, refs) with { DeliveryId = d.Id, RequestId = d.RequestId, FeedbackId = d.FeedbackId, Status = OutboundStatus.Cancelled.ToString().ToLowerInvariant() })).ToList();
        return AddEventsAsync(db, raised, null, null, null, ct);
    }

    private static async Task AddEventsAsync(
        FeedbackHubDbContext db, List<Raised> raised, HashSet<(object, string)>? alreadyRaised, Dictionary<Guid, Application>? trackedApplications, Dictionary<Guid, Candidate>? trackedCandidates, CancellationToken ct)
    {
        var subscriptions = await SubscriptionsAsync(db, raised.Select(r => r.TenantId).Distinct().ToList(), ct);
        foreach (var r in raised)
            alreadyRaised?.Add((r.Source, r.Type));
        var wanted = raised.Where(r => subscriptions[r.TenantId].Any(s => s.Events.Contains(r.Type))).ToList();
        if (wanted.Count == 0)
            return;

        var refs = await RefsAsync(db, wanted.Select(r => r.ApplicationId).Distinct().ToList(), trackedApplications, trackedCandidates, ct);
        foreach (var r in wanted)
        {
            var webhookEvent = WebhookEvent.Create(r.TenantId, r.Type, r.OccurredAt, r.Data(refs.GetValueOrDefault(r.ApplicationId, new Refs(null, null, null))));
            db.WebhookEvents.Add(webhookEvent);
            foreach (var s in subscriptions[r.TenantId].Where(s => s.Events.Contains(r.Type)))
            {
                var delivery = WebhookDelivery.Create(webhookEvent, s.Id, r.OccurredAt);
                db.WebhookDeliveries.Add(delivery);
            }
        }
    }

    /// <summary>
    /// The enabled subscriptions of each tenant (an empty list for a tenant without any): from the process's
    /// <see cref="WebhookSubscriptionCache"/> where it holds the tenant, the rest in one query (then cached).
    /// </summary>
    private static async Task<Dictionary<Guid, IReadOnlyList<CachedSubscription>>> SubscriptionsAsync(FeedbackHubDbContext db, List<Guid> tenantIds, CancellationToken ct)
    {
        var cache = db.SubscriptionCache;
        var result = new Dictionary<Guid, IReadOnlyList<CachedSubscription>>();
        var missing = new List<Guid>();
        foreach (var tenantId in tenantIds)
        {
            if (cache?.Get(tenantId) is { } cached)
                result[tenantId] = cached;
            else
                missing.Add(tenantId);
        }

        if (missing.Count == 0)
            return result;
        var generation = cache?.Generation ?? 0;
        var rows = await db.WebhookSubscriptions.IgnoreQueryFilters().AsNoTracking()
            .Where(s => missing.Contains(s.TenantId) && s.Enabled)
            .Select(s => new { s.Id, s.TenantId, s.Events })
            .ToListAsync(ct);
        foreach (var tenantId in missing)
        {
            IReadOnlyList<CachedSubscription> subscriptions = rows.Where(s => s.TenantId == tenantId).Select(s => new CachedSubscription(s.Id, s.Events)).ToList();
            result[tenantId] = subscriptions;
            cache?.Set(tenantId, subscriptions, generation);
        }

        return result;
    }

    private static void Add(ref List<Raised>? list, HashSet<(object, string)> alreadyRaised, Raised r)
    {
        if (!alreadyRaised.Contains((r.Source, r.Type)))
            (list ??= []).Add(r);
    }

    /// <summary>Added with the status, or modified into it from another one.</summary>
    private static bool BecameStatus(EntityEntry entry, string property)
    {
        if (entry.State == EntityState.Added)
            return true;
        if (entry.State != EntityState.Modified)
            return false;
        var p = entry.Property(property);
        return p.IsModified && !Equals(p.OriginalValue, p.CurrentValue);
    }

    /// <summary>Why a delivery failed, as a stable word (never the SMTP reply, which may quote the address).</summary>
    private static string FailureReason(Delivery.Delivery d) =>
        d.Attempts.MaxBy(a => a.Number)?.Outcome switch
        {
            AttemptOutcome.PermanentFailure => "permanent-failure",
            AttemptOutcome.TransientFailure => "retries-exhausted",
            AttemptOutcome.Interrupted => "interrupted",
            _ => "failed",
        };

    private static WebhookEventData Data(Guid applicationId, Refs refs) =>
        new(applicationId, refs.ApplicationExternalId, refs.CandidateId, refs.CandidateExternalId);

    private static async Task<Dictionary<Guid, Refs>> RefsAsync(
        FeedbackHubDbContext db, List<Guid> applicationIds, Dictionary<Guid, Application>? trackedApplications, Dictionary<Guid, Candidate>? trackedCandidates, CancellationToken ct)
    {
        var result = new Dictionary<Guid, Refs>();
        var missing = new List<Guid>();
        foreach (var id in applicationIds)
        {
            if (trackedApplications?.GetValueOrDefault(id) is { } a && trackedCandidates?.GetValueOrDefault(a.CandidateId) is { } c)
                result[id] = new Refs(a.ExternalId, c.Id, c.ExternalId);
            else
                missing.Add(id);
        }

        if (missing.Count == 0)
            return result;
        var rows = await (
            from a in db.Applications.IgnoreQueryFilters()
            join c in db.Candidates.IgnoreQueryFilters() on a.CandidateId equals c.Id
            where missing.Contains(a.Id)
            select new { a.Id, a.ExternalId, CandidateId = c.Id, CandidateExternalId = c.ExternalId }).ToListAsync(ct);
        foreach (var row in rows)
            result[row.Id] = new Refs(row.ExternalId, row.CandidateId, row.CandidateExternalId);
        foreach (var id in missing.Where(id => !result.ContainsKey(id)))
        {
            if (trackedApplications?.GetValueOrDefault(id) is { } a)
                result[id] = new Refs(a.ExternalId, a.CandidateId, null);
        }

        return result;
    }
}

/// <summary>A delivery a set-based statement cancelled (<see cref="WebhookRaising.RaiseCancelledAsync"/>).</summary>
internal sealed record CancelledDelivery(Guid Id, Guid ApplicationId, Guid RequestId, Guid FeedbackId);
