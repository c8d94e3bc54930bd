using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Applications;
using FeedbackHub.Domain.Delivery;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace FeedbackHub.Api.Web.Pages.Applications;

/// <summary>
/// One application: candidate, request and note, feedback, emails with every attempt, webhook events, timeline.
/// Recruiters cancel a scheduled feedback email or send a failed one again (the same use case and policy as
/// <c>/v1/deliveries/{id}/cancel</c> and <c>/retry</c>).
/// </summary>
[Authorize(Policy = Policies.ApplicationViewers)]
public sealed class DetailsModel(ApplicationView view, FeedbackEmails emails, TimeProvider time) : AppPageModel
{
    public ApplicationDetails? Details { get; private set; }

    public DateTimeOffset Now { get; } = time.GetUtcNow();

    /// <summary>The caller may cancel or resend the feedback email.</summary>
    public bool OperatesEmails { get; private set; }

    public async Task<IActionResult> OnGetAsync(Guid id, CancellationToken ct) =>
        await LoadAsync(id, ct) ? Page() : NotFound();

    public Task<IActionResult> OnPostCancelEmailAsync(Guid id, Guid email, CancellationToken ct) =>
        OperateAsync(id, () => emails.CancelAsync(email, TenantId, Actor, ct), "The feedback email is cancelled; it will not be sent.", ct);

    public Task<IActionResult> OnPostRetryEmailAsync(Guid id, Guid email, CancellationToken ct) =>
        OperateAsync(id, () => emails.RetryAsync(email, TenantId, Actor, ct), "The feedback email is scheduled again and goes out in a moment.", ct);

    private async Task<IActionResult> OperateAsync(Guid id, Func<Task<Domain.Delivery.Delivery>> operation, string done, CancellationToken ct)
    {
        if (!await AllowedAsync(Policies.DeliveryOperators))
            return StatusCode(StatusCodes.Status403Forbidden);
        if (await TryAsync(operation))
            return Done($"/app/applications/{id}", done);
        Response.StatusCode = StatusCodes.Status409Conflict;
        return await LoadAsync(id, ct) ? Page() : NotFound();
    }

    private async Task<bool> LoadAsync(Guid id, CancellationToken ct)
    {
        Details = await view.FindAsync(id, ct);
        OperatesEmails = await AllowedAsync(Policies.DeliveryOperators);
        return Details is not null;
    }
}
