using FeedbackHub.Domain.Persistence;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Worker.Outbound;

public static class DatabaseRetry
{
    /// <summary>
    /// Retries a message whose consumer failed on the database for about 90 s, at most 10 s apart: long enough to ride out
    /// a restart or a failover, instead of moving the message to the error queue (where its delivery would wait for the
    /// lost-message recovery, Delivery:LostMessageAfter).
    /// </summary>
    public static void UseDatabaseRetry<TConsumer>(this IConsumerConfigurator<TConsumer> consumer)
        where TConsumer : class =>
        consumer.UseMessageRetry(r =>
        {
            r.Handle<Exception>(e => e is Npgsql.NpgsqlException or DbUpdateException || DatabaseFailures.IsTransient(e));
            r.Exponential(12, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(500));
        });
}
