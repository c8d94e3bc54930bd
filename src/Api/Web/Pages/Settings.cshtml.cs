using FeedbackHub.Domain.People;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Web.Pages;

/// <summary>A person's own settings: which notifications they get.</summary>
public sealed class SettingsModel(FeedbackHubDbContext db) : AppPageModel
{
    public static readonly IReadOnlyList<(PersonNotification Kind, string Label)> Kinds =
    [
        (PersonNotification.ChangesRequested, "a reviewer asks for changes to feedback I wrote"),
        (PersonNotification.AwaitingApproval, "feedback waits for approval (recruiters and legal)"),
        (PersonNotification.CandidateAsked, "a candidate asks for feedback on an application I work on"),
    ];

    [BindProperty]
    public List<PersonNotification> Wanted { get; set; } = [];

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        var me = await MeAsync(ct);
        Wanted = Enum.GetValues<PersonNotification>().Where(me.Wants).ToList();
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var me = await MeAsync(ct);
        me.SetNotifications(Wanted);
        await db.SaveChangesAsync(ct);
        return Done("/app/settings", "Your email settings are saved.");
    }

    private async Task<Person> MeAsync(CancellationToken ct) =>
        await db.People.SingleAsync(p => p.Id == Caller.PersonId && p.TenantId == TenantId, ct);
}
