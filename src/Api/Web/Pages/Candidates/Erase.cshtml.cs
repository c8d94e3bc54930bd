using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Web.Pages.Candidates;

/// <summary>The same erasure as <c>DELETE /v1/candidates/{id}</c> (admins), after an explicit confirmation.</summary>
[Authorize(Policy = Policies.Admin)]
public sealed class EraseModel(FeedbackHubDbContext db, AuditLog audit, TimeProvider time) : AppPageModel
{
    public string Name { get; private set; } = string.Empty;

    public ErasureResult? Result { get; private set; }

    [BindProperty]
    public bool Confirm { get; set; }

    public async Task<IActionResult> OnGetAsync(Guid id, CancellationToken ct)
    {
        var candidate = await db.Candidates.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id, ct);
        if (candidate is null)
            return NotFound();
        Name = candidate.IsErased ? "this candidate" : $"{candidate.FirstName} {candidate.LastName}".Trim();
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(Guid id, CancellationToken ct)
    {
        if (!Confirm)
        {
            Error = "Tick the box to confirm that the erasure cannot be undone.";
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return await OnGetAsync(id, ct);
        }

        ErasureResult? result = null;
        if (await TryAsync(async () => result = await CandidateErasure.EraseAsync(db, audit, TenantId, id, Actor, ErasureReason.Manual, time.GetUtcNow(), ct)))
        {
            Result = result;
            return Page();
        }

        return await OnGetAsync(id, ct);
    }
}
