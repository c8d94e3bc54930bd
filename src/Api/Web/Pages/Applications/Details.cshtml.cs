using FeedbackHub.Api.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace FeedbackHub.Api.Web.Pages.Applications;

/// <summary>One application: candidate, request and note, feedback, emails with every attempt, webhook events, timeline.</summary>
[Authorize(Policy = Policies.ApplicationViewers)]
public sealed class DetailsModel(ApplicationView view, TimeProvider time) : AppPageModel
{
    public ApplicationDetails? Details { get; private set; }

    public DateTimeOffset Now { get; } = time.GetUtcNow();

    public async Task<IActionResult> OnGetAsync(Guid id, CancellationToken ct)
    {
        Details = await view.FindAsync(id, ct);
        return Details is null ? NotFound() : Page();
    }
}
