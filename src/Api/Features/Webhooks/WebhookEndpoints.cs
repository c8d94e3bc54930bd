using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Messages;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.Webhooks;

public sealed record CreateWebhookRequest(string Url, [property: ApiValues(typeof(WebhookEventTypes))] IReadOnlyList<string> Events, [FreeText] string? Description = null);

/// <summary>Only the given members change; <c>description: ""</c> clears the description.</summary>
public sealed record UpdateWebhookRequest(string? Url = null, [property: ApiValues(typeof(WebhookEventTypes))] IReadOnlyList<string>? Events = null, [FreeText] string? Description = null, bool? Enabled = null);

/// <summary>A webhook subscription as listed (never with its secret).</summary>
public sealed record WebhookResponse(Guid Id, string Url, [property: ApiValues(typeof(WebhookEventTypes))] IReadOnlyList<string> Events, string? Description, bool Enabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>The answer to creation: the only time the secret is shown (besides rotating it).</summary>
public sealed record CreatedWebhookResponse(
    Guid Id, string Url, [property: ApiValues(typeof(WebhookEventTypes))] IReadOnlyList<string> Events, string? Description, bool Enabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string Secret);

/// <summary>
/// A new signing secret, shown once. Until <c>previousSecretExpiresAt</c> (null: no overlap) every request is signed with
/// both secrets (two <c>v1=</c> values), so receivers can switch without refusing events.
/// </summary>
public sealed record WebhookSecretResponse(Guid Id, string Secret, DateTimeOffset RotatedAt, DateTimeOffset? PreviousSecretExpiresAt);

/// <summary>
/// What the receiver answered to a <c>webhook.ping</c>: <c>delivered</c> is true for a 2xx answer. <c>eventId</c> is the
/// ping's <c>FeedbackHub-Event-Id</c>. Nothing is stored.
/// </summary>
public sealed record WebhookPingResponse(
    Guid EventId, bool Delivered, [property: ApiValues(typeof(WebhookAttemptOutcomes))] string Outcome, int? StatusCode, int DurationMs,
    string? Error, string? ResponseExcerpt);

public sealed record WebhookDeliverySummary(
    Guid Id, Guid EventId, [property: ApiValues(typeof(WebhookEventTypes))] string EventType, WebhookDeliveryStatus Status, int AttemptCount, DateTimeOffset? NextAttemptAt,
    int? LastStatusCode, [property: ApiValues(typeof(WebhookAttemptOutcomes))] string? LastOutcome, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>
/// One HTTP attempt: outcome is delivered, http-error, timeout, network-error, refused-address, redirect-not-followed,
/// subscription-disabled, secret-unreadable; in-progress while it runs; interrupted (the worker died during it: sent again,
/// the receiver may have had it) or not-sent (the worker stopped before the request went out: sent again).
/// </summary>
public sealed record WebhookAttemptResponse(int Number, DateTimeOffset AttemptedAt, int DurationMs, int? StatusCode, [property: ApiValues(typeof(WebhookAttemptOutcomes))] string Outcome, string? Error, string? ResponseExcerpt);

/// <summary>The event as sent: <c>body</c> is the exact JSON text that is signed and POSTed (a <c>WebhookEvent</c>).</summary>
public sealed record WebhookEventResponse(Guid Id, [property: ApiValues(typeof(WebhookEventTypes))] string Type, DateTimeOffset OccurredAt, string Body);

public sealed record WebhookDeliveryResponse(
    Guid Id, Guid SubscriptionId, WebhookDeliveryStatus Status, int AttemptCount, int AttemptsSinceRedeliver, DateTimeOffset? NextAttemptAt,
    int? LastStatusCode, [property: ApiValues(typeof(WebhookAttemptOutcomes))] string? LastOutcome, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, WebhookEventResponse Event, IReadOnlyList<WebhookAttemptResponse> Attempts);

public static class WebhookEndpoints
{
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapWebhookEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/webhooks").WithTags("Webhooks").RequireAuthorization(Policies.Admin);
        const string events = "Event types: `feedback.requested`, `feedback.approved`, `delivery.sent`, `delivery.failed`, `delivery.cancelled`.";
        const string urlRules = "The URL must be https, without user info or fragment, at most 2000 characters, and its host must resolve "
            + "(422 `webhook-url-unresolvable`) to public addresses only: loopback, link-local (incl. 169.254.169.254), private, CGNAT, "
            + "multicast and reserved addresses, and names like `localhost` or `*.internal`, answer 422 `webhook-url-refused` "
            + "(the tenant setting `allowPrivateWebhookTargets`, for development only, lifts this and allows http). "
            + "The address is checked again at every send.";

        group.MapPost("/", CreateWebhook).WithName("CreateWebhook")
            .WithSummary("Subscribe a URL to webhook events")
            .WithDescription("Role `admin`. " + events + " " + urlRules + " The answer holds the signing secret (`whsec_...`): the only time it is shown; "
                + "store it now. Idempotency-Key is not honoured (like POST /v1/api-keys): the answer holds a secret that is never stored. See docs/webhooks.md.")
            .WithRequestExample(new CreateWebhookRequest("https://ats.example.com/hooks/feedbackhub", ["feedback.requested", "delivery.sent", "delivery.failed"], "ATS production"))
            .ProducesAuthProblems().ProducesProblems(422);
        group.MapGet("/", ListWebhooks).WithName("ListWebhooks")
            .WithSummary("List webhook subscriptions").WithDescription("Role `admin`. Oldest first; cursor paged. Secrets are never returned.")
            .ProducesAuthProblems();
        group.MapGet("/{id}", GetWebhook).WithName("GetWebhook")
            .WithSummary("Get a webhook subscription").WithDescription("Role `admin`. The secret is never returned.")
            .ProducesAuthProblems().ProducesProblems(404);
        group.MapPatch("/{id}", UpdateWebhook).WithName("UpdateWebhook")
            .WithSummary("Change a webhook subscription")
            .WithDescription("Role `admin`. Only the given members change (`url`, `events`, `description` (\"\" clears it), `enabled`). A new URL is checked like at creation. "
                + "A disabled subscription gets no new events; its pending deliveries fail without sending (`subscription-disabled`).")
            .WithRequestExample(new UpdateWebhookRequest(Enabled: false))
            .ProducesAuthProblems().ProducesProblems(404, 422);
        group.MapDelete("/{id}", DeleteWebhook).WithName("DeleteWebhook")
            .WithSummary("Delete a webhook subscription")
            .WithDescription("Role `admin`. Deletes the subscription and its delivery log; deliveries not yet sent are dropped (nothing more is sent). "
                + "A send in progress is not waited for; its answer is not recorded.")
            .ProducesAuthProblems().ProducesProblems(404);
        group.MapPost("/{id}/rotate-secret", RotateWebhookSecret).WithName("RotateWebhookSecret")
            .WithSummary("Replace the signing secret")
            .WithDescription("Role `admin`. The new secret is in this answer only. Every attempt from now on is signed with it, also retries of earlier events; until `previousSecretExpiresAt` (`Webhooks:SecretOverlap`, 24 hours by default) also with the replaced secret, as a second `v1=` value.")
            .ProducesAuthProblems().ProducesProblems(404);
        group.MapPost("/{id}/ping", PingWebhook).WithName("PingWebhook")
            .WithSummary("Send a test event to the subscription's URL now")
            .WithDescription("Role `admin`. POSTs a `webhook.ping` event (schema `WebhookPingEvent`), signed and with the same headers as real events, to the URL, also when the subscription is disabled, waits for the answer (at most `Webhooks:PingTimeout`, 10 s) and reports it. Nothing is stored and nothing is retried. 409 `webhook-secret-unreadable` when the stored secret cannot be opened (rotate it).")
            .ProducesAuthProblems().ProducesProblems(404, 409);
        group.MapGet("/{id}/deliveries", ListWebhookDeliveries).WithName("ListWebhookDeliveries")
            .WithSummary("List a subscription's deliveries")
            .WithDescription("Role `admin`. One delivery per event sent to this subscription, oldest first, cursor paged. Filter by `status` (pending, delivered, failed).")
            .ProducesAuthProblems().ProducesProblems(404);
        group.MapGet("/{id}/deliveries/{deliveryId}", GetWebhookDelivery).WithName("GetWebhookDelivery")
            .WithSummary("Get a webhook delivery with every attempt and the event body")
            .WithDescription("Role `admin`. `event.body` is the exact JSON text that was signed and sent.")
            .ProducesAuthProblems().ProducesProblems(404);
        group.MapPost("/{id}/deliveries/{deliveryId}/redeliver", RedeliverWebhook).WithName("RedeliverWebhook")
            .WithSummary("Send a webhook delivery again")
            .WithDescription("Role `admin`. Sends the same event (same event id, so receivers can deduplicate) again now, with a fresh attempt budget; "
                + "a pending delivery just becomes due now. 409 `webhook-send-in-progress` while an attempt is running.")
            .ProducesAuthProblems().ProducesProblems(404, 409);
        return app;
    }

    public static async Task<Created<CreatedWebhookResponse>> CreateWebhook(
        CreateWebhookRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, WebhookSecretBox box, TimeProvider time, CancellationToken ct)
    {
        var allowPrivate = await AllowPrivateAsync(db, caller.TenantId, ct);
        WebhookSubscription.Validate(request.Events, request.Description);
        var url = await CheckUrlAsync(request.Url, allowPrivate, ct);
        var (subscription, secret) = WebhookSubscription.Create(caller.TenantId, url, request.Events, request.Description, box, time.GetUtcNow());
        db.WebhookSubscriptions.Add(subscription);
        audit.Record(caller.TenantId, caller.Actor, "webhook.created", "webhook", subscription.Id, new { events = subscription.Events });
        await db.SaveChangesAsync(ct);
        var s = subscription;
        return TypedResults.Created($"/v1/webhooks/{s.Id}", new CreatedWebhookResponse(s.Id, s.Url, s.Events, s.Description, s.Enabled, s.CreatedAt, s.UpdatedAt, secret));
    }

    public static async Task<Ok<Page<WebhookResponse>>> ListWebhooks(int? limit, string? after, FeedbackHubDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await db.WebhookSubscriptions.AsNoTracking().PageByIdAsync(s => s.Id, limit, after, ToResponse, ct));

    public static async Task<Ok<WebhookResponse>> GetWebhook(Guid id, FeedbackHubDbContext db, CancellationToken ct) =>
        TypedResults.Ok(ToResponse(await FindAsync(db, id, tracking: false, ct)));

    public static async Task<Ok<WebhookResponse>> UpdateWebhook(
        Guid id, UpdateWebhookRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var subscription = await FindAsync(db, id, tracking: true, ct);
        WebhookSubscription.Validate(request.Events, request.Description, eventsGiven: request.Events is not null);
        var url = request.Url is null ? null : await CheckUrlAsync(request.Url, await AllowPrivateAsync(db, caller.TenantId, ct), ct);
        var changed = new List<string>();
        if (url is not null && url.AbsoluteUri != subscription.Url)
            changed.Add("url");
        if (request.Events is not null && !request.Events.Distinct().Order(StringComparer.Ordinal).SequenceEqual(subscription.Events.Order(StringComparer.Ordinal)))
            changed.Add("events");
        if (request.Description is not null && (string.IsNullOrWhiteSpace(request.Description) ? null : request.Description.Trim()) != subscription.Description)
            changed.Add("description");
        if (request.Enabled is { } enabled && enabled != subscription.Enabled)
            changed.Add("enabled");
        if (changed.Count == 0)
            return TypedResults.Ok(ToResponse(subscription));

        subscription.Update(url, request.Events, request.Description, request.Enabled, time.GetUtcNow());
        audit.Record(caller.TenantId, caller.Actor, "webhook.updated", "webhook", subscription.Id,
            new { fields = changed, events = subscription.Events, enabled = subscription.Enabled });
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(ToResponse(subscription));
    }

    public static async Task<NoContent> DeleteWebhook(Guid id, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var subscription = await FindAsync(db, id, tracking: true, ct);
        db.WebhookSubscriptions.Remove(subscription);
        audit.Record(caller.TenantId, caller.Actor, "webhook.deleted", "webhook", subscription.Id, new { events = subscription.Events });
        // The deliveries' outbound rows go first (they cascade to the deliveries and attempts); the event log stays.
        await db.Database.ExecuteSqlAsync($"DELETE FROM outbound WHERE id IN (SELECT id FROM webhook_deliveries WHERE subscription_id = {subscription.Id})", ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    public static async Task<Ok<WebhookSecretResponse>> RotateWebhookSecret(
        Guid id, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, WebhookSecretBox box, TimeProvider time,
        Microsoft.Extensions.Options.IOptions<WebhookApiOptions> options, CancellationToken ct)
    {
        var subscription = await FindAsync(db, id, tracking: true, ct);
        var now = time.GetUtcNow();
        var secret = subscription.RotateSecret(box, now, options.Value.SecretOverlap);
        audit.Record(caller.TenantId, caller.Actor, "webhook.secret-rotated", "webhook", subscription.Id,
            new { overlapSeconds = (long)Math.Max(0, options.Value.SecretOverlap.TotalSeconds) });
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(new WebhookSecretResponse(subscription.Id, secret, now, subscription.PreviousSecretExpiresAt));
    }

    public static async Task<Ok<WebhookPingResponse>> PingWebhook(
        Guid id, FeedbackHubDbContext db, WebhookSecretBox box, WebhookSender sender, TimeProvider time,
        Microsoft.Extensions.Options.IOptions<WebhookApiOptions> options, CancellationToken ct)
    {
        var subscription = await FindAsync(db, id, tracking: false, ct);
        var allowPrivate = await AllowPrivateAsync(db, subscription.TenantId, ct);
        var now = time.GetUtcNow();
        IReadOnlyList<string> secrets;
        try
        {
            secrets = subscription.SigningSecrets(box, now);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            throw DomainException.Conflict("webhook-secret-unreadable", "The subscription's secret cannot be opened (the server's key was changed); rotate the secret.");
        }

        var (eventId, body) = WebhookEvent.Ping(subscription.Id, now);
        var headers = new Dictionary<string, string>
        {
            [WebhookSignature.Header] = WebhookSignature.HeaderValue(secrets, now.ToUnixTimeSeconds(), body),
            ["FeedbackHub-Event-Id"] = eventId.ToString(),
            ["FeedbackHub-Event-Type"] = WebhookEventTypes.Ping,
            ["FeedbackHub-Attempt"] = "1",
        };
        var result = await sender.SendAsync(new Uri(subscription.Url), body, headers, allowPrivate, options.Value.PingTimeout, ct);
        return TypedResults.Ok(new WebhookPingResponse(eventId, result.Outcome == WebhookAttemptOutcomes.Delivered, result.Outcome,
            result.StatusCode, result.DurationMs, result.Error, result.ResponseExcerpt));
    }

    public static async Task<Ok<Page<WebhookDeliverySummary>>> ListWebhookDeliveries(
        Guid id, [ApiValues(typeof(WebhookDeliveryStatus))] string? status, int? limit, string? after, FeedbackHubDbContext db, CancellationToken ct)
    {
        var wanted = QueryValues.Enum<WebhookDeliveryStatus>(status, "status") is { } w ? PublicStatuses.FromWebhook(w) : null;
        await FindAsync(db, id, tracking: false, ct);
        var query = db.WebhookDeliveries.AsNoTracking().Where(d => d.SubscriptionId == id);
        if (wanted is not null)
            query = query.Where(d => wanted.Contains(d.Status));
        var take = Cursor.Limit(limit);
        if (Cursor.DecodeGuid(after) is { } afterId)
            query = query.Where(d => d.Id.CompareTo(afterId) > 0);
        // The last finished attempt of each delivery on the page through a lateral join on (outbound_id, number): a
        // FirstOrDefault of an object made EF number every attempt of the tenant with ROW_NUMBER on each request.
        var rows = await (
                from d in query.OrderBy(d => d.Id).Take(take + 1)
                from last in db.OutboundAttempts
                    .Where(a => a.OutboundId == d.Id && a.Outcome != AttemptOutcome.InProgress)
                    .OrderByDescending(a => a.Number).Take(1).DefaultIfEmpty()
                orderby d.Id
                select new
                {
                    d.Id, d.EventId, d.EventType, d.Status, d.DueAt, d.CreatedAt, d.UpdatedAt, AttemptCount = d.Attempts.Count,
                    LastNumber = (int?)last.Number, LastCode = (int?)last.Code, LastDetail = last.Detail, LastOutcome = (AttemptOutcome?)last.Outcome,
                })
            .ToListAsync(ct);
        return TypedResults.Ok(Cursor.ToPage(rows, take,
            d => new WebhookDeliverySummary(d.Id, d.EventId, d.EventType, PublicStatuses.OfWebhook(d.Status), d.AttemptCount, NextAttemptAt(d.Status, d.DueAt),
                d.LastCode, d.LastNumber is null ? null : WebhookDelivery.OutcomeName(d.LastDetail, d.LastOutcome!.Value), d.CreatedAt, d.UpdatedAt),
            d => d.Id.ToString()));
    }

    public static async Task<Ok<WebhookDeliveryResponse>> GetWebhookDelivery(Guid id, Guid deliveryId, FeedbackHubDbContext db, CancellationToken ct)
    {
        var delivery = await db.WebhookDeliveries.AsNoTracking().Include(d => d.Attempts).SingleOrDefaultAsync(d => d.Id == deliveryId && d.SubscriptionId == id, ct)
            ?? throw DomainException.NotFound("The webhook delivery");
        return TypedResults.Ok(await ToResponseAsync(db, delivery, ct));
    }

    public static async Task<Accepted<WebhookDeliveryResponse>> RedeliverWebhook(
        Guid id, Guid deliveryId, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var tenantId = caller.TenantId;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // No lock is held while the worker sends (it leases the delivery), so this waits for nothing: a running attempt
        // shows as Sending and answers 409.
        var locked = await OutboundLocks.LockAsync<WebhookDelivery>(db, deliveryId, ct);
        if (locked is null || locked.Item.SubscriptionId != id)
            throw DomainException.NotFound("The webhook delivery");
        var (delivery, guard) = locked;
        var now = time.GetUtcNow();
        delivery.Redeliver(guard, now);
        db.OutboxMessages.Add(OutboxMessage.Create(new DeliverWebhook(delivery.Id, delivery.TenantId), delivery.TenantId, now));
        audit.Record(tenantId, caller.Actor, AuditActions.WebhookRedelivered, "webhook", id, new { deliveryId = delivery.Id, eventId = delivery.EventId, eventType = delivery.EventType });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return TypedResults.Accepted($"/v1/webhooks/{id}/deliveries/{delivery.Id}", await ToResponseAsync(db, delivery, ct));
    }

    /// <summary>Checks the URL's shape and resolves its host now: unresolvable and refused hosts answer 422.</summary>
    private static async Task<Uri> CheckUrlAsync(string? url, bool allowPrivate, CancellationToken ct)
    {
        var uri = WebhookTargets.ParseUrl(url, allowPrivate);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ResolveTimeout);
        WebhookResolution resolution;
        try
        {
            resolution = await WebhookTargets.ResolveAsync(uri.Host, allowPrivate, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            resolution = new WebhookResolution([], null, true);
        }

        if (resolution.Refusal is { } reason)
        {
            throw new DomainException(DomainErrorKind.Invalid, "webhook-url-refused",
                $"Webhook URLs must reach a public address: {reason}. (A development tenant may allow private targets with the setting allowPrivateWebhookTargets.)")
            {
                Errors = new Dictionary<string, string[]> { ["url"] = [$"Refused: {reason}."] },
            };
        }

        if (resolution.Unresolvable)
        {
            throw new DomainException(DomainErrorKind.Invalid, "webhook-url-unresolvable", $"The host '{uri.Host}' of the webhook URL does not resolve.")
            {
                Errors = new Dictionary<string, string[]> { ["url"] = ["The host name does not resolve."] },
            };
        }

        return uri;
    }

    private static async Task<bool> AllowPrivateAsync(FeedbackHubDbContext db, Guid tenantId, CancellationToken ct) =>
        (await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId).Select(t => t.Settings).SingleAsync(ct)).AllowPrivateWebhookTargets;

    private static async Task<WebhookSubscription> FindAsync(FeedbackHubDbContext db, Guid id, bool tracking, CancellationToken ct)
    {
        var query = tracking ? db.WebhookSubscriptions : db.WebhookSubscriptions.AsNoTracking();
        return await query.SingleOrDefaultAsync(s => s.Id == id, ct) ?? throw DomainException.NotFound("The webhook subscription");
    }

    private static async Task<WebhookDeliveryResponse> ToResponseAsync(FeedbackHubDbContext db, WebhookDelivery d, CancellationToken ct)
    {
        var e = await db.WebhookEvents.AsNoTracking().SingleAsync(x => x.Id == d.EventId, ct);
        var attempts = d.Attempts.OrderBy(a => a.Number)
            .Select(a => new WebhookAttemptResponse(a.Number, a.StartedAt, a.DurationMs ?? 0, a.Code, WebhookDelivery.OutcomeName(a), Error(a), a.ResponseExcerpt))
            .ToList();
        var last = d.Attempts.Where(a => a.Outcome != AttemptOutcome.InProgress).MaxBy(a => a.Number);
        return new WebhookDeliveryResponse(d.Id, d.SubscriptionId, PublicStatuses.OfWebhook(d.Status), d.Attempts.Count, d.Attempts.Count(a => a.CountsAgainstBudget),
            NextAttemptAt(d.Status, d.DueAt), last?.Code, last is null ? null : WebhookDelivery.OutcomeName(last), d.CreatedAt, d.UpdatedAt,
            new WebhookEventResponse(e.Id, e.Type, e.OccurredAt, e.Body), attempts);
    }

    /// <summary>What went wrong in an attempt (its reply), none for a delivered one.</summary>
    private static string? Error(OutboundAttempt a) =>
        a.Outcome is AttemptOutcome.Accepted or AttemptOutcome.InProgress ? null : a.Reply;

    /// <summary>When a pending delivery is (or was) due; none once it is delivered or failed.</summary>
    private static DateTimeOffset? NextAttemptAt(OutboundStatus status, DateTimeOffset dueAt) =>
        status is OutboundStatus.Scheduled or OutboundStatus.Sending ? dueAt : null;

    private static WebhookResponse ToResponse(WebhookSubscription s) =>
        new(s.Id, s.Url, s.Events, s.Description, s.Enabled, s.CreatedAt, s.UpdatedAt);
}
