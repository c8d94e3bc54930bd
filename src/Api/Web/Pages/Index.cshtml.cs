using FeedbackHub.Domain.Model;

namespace FeedbackHub.Api.Web.Pages;

/// <summary>A table of work items with the link each row opens.</summary>
public sealed record WorkTable(IReadOnlyList<WorkItem> Items, string SinceLabel, DateTimeOffset Now, Func<WorkItem, string> Link);

/// <summary>My work: what waits for the signed-in person, oldest first.</summary>
public sealed class MyWorkModel(WorkCounts work, TimeProvider time) : AppPageModel
{
    public IReadOnlyList<WorkItem> ToWrite { get; private set; } = [];

    public IReadOnlyList<WorkItem> ToApprove { get; private set; } = [];

    public IReadOnlyList<WorkItem> Waiting { get; private set; } = [];

    public bool Reviewer => Can(Roles.Recruiter, Roles.Legal);

    public bool ShowsCandidates => Can(Roles.Recruiter, Roles.Interviewer);

    public DateTimeOffset Now { get; } = time.GetUtcNow();

    public async Task OnGetAsync(CancellationToken ct)
    {
        ToWrite = await work.ToWriteAsync(User, ct);
        ToApprove = await work.ToApproveAsync(User, ct);
        Waiting = await work.WaitingAsync(User, ct);
    }
}
