import { describe, expect, it } from 'vitest';
import {
  asksAboutBookings,
  detectIntent,
  detectService,
  isFarewell,
  isNo,
  isYes,
  parseName,
  parseOrdinal,
  parsePhoneNumber,
  serviceFromAnswer,
  wantsOtherTimes,
} from './understanding.js';

describe('parseName', () => {
  it.each([
    ['Sam Lee', true, { first: 'Sam', last: 'Lee' }],
    ['sam lee', true, { first: 'Sam', last: 'Lee' }],
    ["Sure, it's Maria de la Cruz", true, { first: 'Maria', last: 'de la Cruz' }],
    ['my name is Sam Lee', false, { first: 'Sam', last: 'Lee' }],
    ["Hi, this is Sam O'Neil and I'd like to book", false, { first: 'Sam', last: "O'Neil" }],
    ['Sam', true, { first: 'Sam', last: undefined }],
    ['Sam', false, undefined],
    ["I'm good", false, undefined],
    ['I am looking for an appointment', false, undefined],
    ['yes', true, undefined],
    ['book an oil change', true, undefined],
  ])('%s (asked: %s)', (text, asked, expected) => {
    expect(parseName(text, asked)).toEqual(expected);
  });
});

describe('intents, answers and services', () => {
  it.each([
    ['book an oil change tomorrow', 'book'],
    ['cancel my appointment', 'cancel'],
    ['move it to Thursday at 10', 'reschedule'],
    ['can I reschedule', 'reschedule'],
    ["what's free on Friday?", 'availability'],
    ['can we push it to the following monday at 9', 'reschedule'],
    ['what do you have friday afternoon', 'availability'],
    ['do you have anything thursday around 3', 'availability'],
    ["ok what's the earliest you have", 'availability'],
    ['my name is Sam Lee', undefined],
    ['when is my appointment?', undefined],
  ])('intent of %s', (text, expected) => {
    expect(detectIntent(text)).toBe(expected);
  });

  it.each([
    ['yes please', true, false],
    ['Yeah, book it', true, false],
    ['sounds good', true, false],
    ['no', false, true],
    ["nope, that's wrong", false, true],
    ['maybe', false, false],
  ])('%s is yes: %s, no: %s', (text, yes, no) => {
    expect(isYes(text)).toBe(yes);
    expect(isNo(text)).toBe(no);
  });

  it.each([
    ['bye', true],
    ["no thanks, that's all", true],
    ['goodbye!', true],
    ['book a brake job', false],
  ])('farewell: %s', (text, expected) => {
    expect(isFarewell(text)).toBe(expected);
  });

  it.each([
    ['book an oil change tomorrow', 'Oil change'],
    ['my brakes squeak', 'Brake service'],
    ['I need a service', undefined],
    ['move it to Thursday', undefined],
  ])('service named in %s', (text, expected) => {
    expect(detectService(text)?.name).toBe(expected);
  });

  it.each([
    ['an oil change', 'Oil change'],
    ['my AC blows warm air', 'my AC blows warm air'],
    ['tell me a joke', undefined],
  ])('service answer %s', (text, expected) => {
    expect(serviceFromAnswer(text)).toBe(expected);
  });

  it.each([
    ['when is my appointment?', true],
    ["when's my appointment", true],
    ['what appointments do I have', true],
    ['what do I have booked', true],
    ['is it still on for friday?', true],
    ['am I still booked for tuesday', true],
    ['book an appointment', false],
    ['cancel my appointment', false],
    ['what do you have friday', false],
  ])('asks what is booked: %s', (text, expected) => {
    expect(asksAboutBookings(text)).toBe(expected);
  });

  it.each([
    ['sorry what times again?', 'next'],
    ['what else do you have', 'next'],
    ['none of those work', 'next'],
    ['anything later?', 'later'],
    ['do you have something earlier', 'earlier'],
    ['the second one', undefined],
    ['2 pm', undefined],
  ])('asks for other times: %s', (text, expected) => {
    expect(wantsOtherTimes(text)).toBe(expected);
  });

  it.each([
    ['the first one', 0],
    ['second please', 1],
    ['the last one', -1],
    ['whatever', undefined],
  ])('ordinal %s', (text, expected) => {
    expect(parseOrdinal(text)).toBe(expected);
  });

  it.each([
    ['555 123 4567, Lee', '5551234567'],
    ['+1 (555) 123-4567', '+15551234567'],
    ['call me at 12', undefined],
  ])('phone number in %s', (text, expected) => {
    expect(parsePhoneNumber(text)).toBe(expected);
  });
});
