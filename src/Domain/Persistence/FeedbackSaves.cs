using System.Text.Json;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Persistence.Configurations;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace FeedbackHub.Domain.Persistence;

/// <summary>The save of feedback answers as one SQL statement (<see cref="FeedbackAuthoring.SaveAnswersAsync"/>, the hottest write).</summary>
public static class FeedbackSaves
{
    /// <summary>
    /// Writes a save: the columns <see cref="Feedback.Save"/> changes, only if the row still has the version it was read
    /// with (else 412 as EF's concurrency token answers: <see cref="DbUpdateConcurrencyException"/>), and the audit event
    /// only if it was. One statement, so one round trip and atomic without an explicit transaction (it joins the
    /// caller's if there is one). The JSON columns are written as their EF converter writes them (<see cref="JsonColumn"/>).
    /// </summary>
    public static async Task WriteAsync(FeedbackHubDbContext db, Feedback feedback, int readVersion, AuditEvent saved, CancellationToken ct)
    {
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = new NpgsqlCommand(
                """
                WITH f AS (UPDATE feedback
                           SET answers = @answers, findings = @findings, acknowledgements = @acknowledgements, status = @status,
                               contributors = @contributors, updated_at = @updated_at, version = @version
                           WHERE id = @id AND tenant_id = @tenant_id AND version = @read_version
                           RETURNING id)
                INSERT INTO audit_events (id, tenant_id, occurred_at, actor_id, actor_name, action, subject_type, subject_id, data)
                SELECT @event_id, @tenant_id, @occurred_at, @actor_id, @actor_name, @action, @subject_type, f.id, @data FROM f
                """,
                (NpgsqlConnection)db.Database.GetDbConnection(),
                (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction());
            var p = command.Parameters;
            p.Add(new NpgsqlParameter("answers", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(feedback.Answers, JsonColumn.Options) });
            p.Add(new NpgsqlParameter("findings", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(feedback.Findings, JsonColumn.Options) });
            p.Add(new NpgsqlParameter("acknowledgements", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(feedback.Acknowledgements, JsonColumn.Options) });
            p.Add(new NpgsqlParameter("status", NpgsqlDbType.Varchar) { Value = feedback.Status.ToString() });
            p.Add(new NpgsqlParameter("contributors", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = feedback.Contributors });
            p.Add(new NpgsqlParameter("updated_at", NpgsqlDbType.TimestampTz) { Value = feedback.UpdatedAt });
            p.Add(new NpgsqlParameter("version", NpgsqlDbType.Integer) { Value = feedback.Version });
            p.Add(new NpgsqlParameter("id", NpgsqlDbType.Uuid) { Value = feedback.Id });
            p.Add(new NpgsqlParameter("tenant_id", NpgsqlDbType.Uuid) { Value = feedback.TenantId });
            p.Add(new NpgsqlParameter("read_version", NpgsqlDbType.Integer) { Value = readVersion });
            p.Add(new NpgsqlParameter("event_id", NpgsqlDbType.Uuid) { Value = saved.Id });
            p.Add(new NpgsqlParameter("occurred_at", NpgsqlDbType.TimestampTz) { Value = saved.OccurredAt });
            p.Add(new NpgsqlParameter("actor_id", NpgsqlDbType.Uuid) { Value = (object?)saved.ActorId ?? DBNull.Value });
            p.Add(new NpgsqlParameter("actor_name", NpgsqlDbType.Varchar) { Value = saved.ActorName });
            p.Add(new NpgsqlParameter("action", NpgsqlDbType.Varchar) { Value = saved.Action });
            p.Add(new NpgsqlParameter("subject_type", NpgsqlDbType.Varchar) { Value = saved.SubjectType });
            p.Add(new NpgsqlParameter("data", NpgsqlDbType.Text) { Value = saved.Data });
            if (await command.ExecuteNonQueryAsync(ct) == 0)
                throw new DbUpdateConcurrencyException("The feedback changed or was removed since it was read; no row was updated.");
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
