using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Worker.Tests.Persistence;

/// <summary>
/// <see cref="FeedbackHubDbContext.SaveChangesAsync(bool, CancellationToken)"/> detects changes once for its own scans and
/// the save: a change made to a tracked entity is still saved, and the caller's change-detection setting is left as it was.
/// </summary>
public sealed class SaveChangesTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task A_change_to_a_tracked_entity_is_saved_and_change_detection_stays_on()
    {
        var candidate = await ArrangeAsync("detected");
        await using (var db = database.CreateDbContext())
        {
            var tracked = await db.Candidates.IgnoreQueryFilters().SingleAsync(c => c.Id == candidate.Id);
            tracked.ApplyUpsert(Details("detected", "Renamed"), DateTimeOffset.UtcNow); // a plain property change: only detection finds it
            Assert.Equal(1, await db.SaveChangesAsync());
            Assert.True(db.ChangeTracker.AutoDetectChangesEnabled);
            Assert.False(db.ChangeTracker.HasChanges());
        }

        Assert.Equal("Renamed", await FirstNameAsync(candidate.Id));
    }

    [Fact]
    public async Task A_caller_that_turned_change_detection_off_keeps_it_off_and_saves_only_what_it_detected()
    {
        var candidate = await ArrangeAsync("undetected");
        await using (var db = database.CreateDbContext())
        {
            var tracked = await db.Candidates.IgnoreQueryFilters().SingleAsync(c => c.Id == candidate.Id);
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            tracked.ApplyUpsert(Details("undetected", "Renamed"), DateTimeOffset.UtcNow);
            Assert.Equal(0, await db.SaveChangesAsync());
            Assert.False(db.ChangeTracker.AutoDetectChangesEnabled);
        }

        Assert.Equal("Original", await FirstNameAsync(candidate.Id));
    }

    [Fact]
    public async Task A_save_that_fails_leaves_change_detection_on()
    {
        var candidate = await ArrangeAsync("failing");
        await using var db = database.CreateDbContext();
        db.Candidates.Add(Candidate.Create(candidate.TenantId, Details("failing", "Twin"), DateTimeOffset.UtcNow)); // same external id: unique violation
        await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.True(db.ChangeTracker.AutoDetectChangesEnabled);
    }

    private static CandidateDetails Details(string externalId, string firstName) => new(externalId, firstName, "Test", $"{externalId}@example.test", "en");

    private async Task<Candidate> ArrangeAsync(string externalId)
    {
        var tenant = Tenant.Create("Save " + externalId, DateTimeOffset.UtcNow);
        var candidate = Candidate.Create(tenant.Id, Details(externalId, "Original"), DateTimeOffset.UtcNow);
        await using var db = database.CreateDbContext();
        db.Tenants.Add(tenant);
        db.Candidates.Add(candidate);
        await db.SaveChangesAsync();
        return candidate;
    }

    private async Task<string> FirstNameAsync(Guid candidateId)
    {
        await using var db = database.CreateDbContext();
        return await db.Candidates.IgnoreQueryFilters().Where(c => c.Id == candidateId).Select(c => c.FirstName).SingleAsync();
    }
}
